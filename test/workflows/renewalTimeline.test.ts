import { strict as assert } from 'node:assert';
import { addMonths, renewalTimeline, type RenewalPlan } from '../../workflows/shared/renewal';

const iso = (ms: number) => new Date(ms).toISOString();
const plan = (over: Partial<RenewalPlan> = {}) => ({
  autoRenew: false,
  warranty: false,
  reminders: { frequency: 'monthly' as const, startMonths: 2 },
  ...over,
});
const show = (steps: ReturnType<typeof renewalTimeline>) => steps.map((s) => `${s.kind}@${iso(s.at).slice(0, 10)}`);

describe('renewal timeline (pure)', () => {
  it('moves by calendar months and clamps to the end of shorter months', () => {
    assert.equal(iso(addMonths(Date.parse('2027-03-31T10:00:00Z'), -1)), '2027-02-28T10:00:00.000Z');
    assert.equal(iso(addMonths(Date.parse('2028-03-31T10:00:00Z'), -1)), '2028-02-29T10:00:00.000Z');
    assert.equal(iso(addMonths(Date.parse('2027-01-15T00:00:00Z'), -2)), '2026-11-15T00:00:00.000Z');
    assert.equal(iso(addMonths(Date.parse('2027-01-31T00:00:00Z'), 13)), '2028-02-29T00:00:00.000Z');
  });

  it('issues the invoice and starts reminders 2 months ahead at the latest, then blocks and terminates an unpaid product', () => {
    assert.deepEqual(show(renewalTimeline(plan(), '2027-05-01T00:00:00Z')), [
      'issue-invoice@2027-03-01',
      'reminder@2027-03-01',
      'reminder@2027-04-01',
      'due@2027-05-01',
      'suspend@2027-05-04',
      'final-notice@2027-05-27',
      'terminate@2027-06-03',
    ]);
  });

  it('sends weekly reminders from 1 month ahead, or none when switched off', () => {
    const weekly = show(renewalTimeline(plan({ reminders: { frequency: 'weekly', startMonths: 1 } }), '2027-05-01T00:00:00Z')).filter((s) =>
      s.startsWith('reminder'),
    );
    assert.deepEqual(weekly, ['reminder@2027-04-01', 'reminder@2027-04-08', 'reminder@2027-04-15', 'reminder@2027-04-22', 'reminder@2027-04-29']);
    assert.deepEqual(
      show(renewalTimeline(plan({ reminders: { frequency: 'off', startMonths: 2 } }), '2027-05-01T00:00:00Z')).filter((s) => s.startsWith('reminder')),
      [],
    );
    const clamped = renewalTimeline(plan({ reminders: { frequency: 'monthly', startMonths: 5 } }), '2027-05-01T00:00:00Z');
    assert.equal(
      show(clamped).find((s) => s.startsWith('reminder')),
      'reminder@2027-03-01',
      'never earlier than 2 months',
    );
  });

  it('with automatic renewal: the reminder, then attempts every 3 days from 14 days ahead; with the warranty: no block', () => {
    const steps = renewalTimeline(plan({ autoRenew: true, warranty: true }), '2027-05-15T00:00:00Z');
    assert.deepEqual(show(steps), [
      'issue-invoice@2027-03-15',
      'auto-renew-reminder@2027-05-01',
      'charge@2027-05-01',
      'charge@2027-05-04',
      'charge@2027-05-07',
      'charge@2027-05-10',
      'charge@2027-05-13',
      'due@2027-05-15',
    ]);
    assert.deepEqual(
      steps.filter((s) => s.kind === 'charge').map((s) => s.attempt),
      [1, 2, 3, 4, 5],
    );
  });
});
