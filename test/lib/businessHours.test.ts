import { strict as assert } from 'node:assert';
import { addBusinessHours, parseBusinessHours } from '../../lib/businessHours';

// Winter dates are CET (UTC+1), summer dates CEST (UTC+2); 2026 switches on 29 March and 25 October.
describe('business hours', () => {
  const zurich = parseBusinessHours('Mon-Fri 08:00-18:00', 'Europe/Zurich');
  const add = (fromUtc: string, hours: number, cal = zurich) => addBusinessHours(new Date(fromUtc), hours, cal).toISOString();

  describe('parseBusinessHours', () => {
    it('reads day ranges, day lists and times', () => {
      assert.deepEqual(zurich, { timeZone: 'Europe/Zurich', days: [1, 2, 3, 4, 5], startMinute: 480, endMinute: 1080 });
      assert.deepEqual(parseBusinessHours('Mon-Sat 09:00-17:30', 'Europe/Zurich'), {
        timeZone: 'Europe/Zurich',
        days: [1, 2, 3, 4, 5, 6],
        startMinute: 540,
        endMinute: 1050,
      });
      assert.deepEqual(parseBusinessHours('Mon,Wed,Fri 08:00-12:00', 'UTC').days, [1, 3, 5]);
      assert.deepEqual(parseBusinessHours('Sun-Tue 09:00-17:00', 'UTC').days, [1, 2, 7]);
      assert.deepEqual(parseBusinessHours('Mon-Sun 00:00-24:00', 'UTC'), { timeZone: 'UTC', days: [1, 2, 3, 4, 5, 6, 7], startMinute: 0, endMinute: 1440 });
    });

    it('rejects malformed specs with a message naming the problem', () => {
      assert.throws(() => parseBusinessHours('Mon-Fry 08:00-18:00', 'Europe/Zurich'), /unknown day "Fry"/);
      assert.throws(() => parseBusinessHours('Mon,,Fri 08:00-18:00', 'Europe/Zurich'), /unknown day ""/);
      assert.throws(() => parseBusinessHours('Mon-Fri 18:00-08:00', 'Europe/Zurich'), /closing time must be after opening time/);
      assert.throws(() => parseBusinessHours('Mon-Fri 08:00-08:00', 'Europe/Zurich'), /closing time must be after opening time/);
      assert.throws(() => parseBusinessHours('Mon-Fri 08:00-25:00', 'Europe/Zurich'), /invalid time "25:00"/);
      assert.throws(() => parseBusinessHours('Mon-Fri 08:60-18:00', 'Europe/Zurich'), /invalid time "08:60"/);
      assert.throws(() => parseBusinessHours('Mon-Wed-Fri 08:00-18:00', 'Europe/Zurich'), /bad day range/);
      assert.throws(() => parseBusinessHours('weekdays 9-5', 'Europe/Zurich'), /must look like "Mon-Fri 08:00-18:00"/);
      assert.throws(() => parseBusinessHours('', 'Europe/Zurich'), /must look like/);
      assert.throws(() => parseBusinessHours('Mon-Fri 08:00-18:00', 'Europe/Atlantis'), /unknown time zone "Europe\/Atlantis"/);
      assert.throws(() => parseBusinessHours('Mon-Fri 08:00-18:00', ''), /unknown time zone ""/);
    });
  });

  describe('addBusinessHours', () => {
    it('carries Friday evening over the weekend: Fri 17:00 + 2h = Mon 09:00', () => {
      assert.equal(add('2026-01-09T16:00:00.000Z', 2), '2026-01-12T08:00:00.000Z');
    });

    it('starts counting at the next opening when submitted on a Saturday', () => {
      assert.equal(add('2026-01-10T10:00:00.000Z', 2), '2026-01-12T09:00:00.000Z');
    });

    it('starts counting at the opening when submitted before it', () => {
      assert.equal(add('2026-01-13T05:30:00.000Z', 2), '2026-01-13T09:00:00.000Z');
    });

    it('adds plain hours inside a window: Tue 10:00 + 2h = 12:00', () => {
      assert.equal(add('2026-01-13T09:00:00.000Z', 2), '2026-01-13T11:00:00.000Z');
    });

    it('crosses to the next day: 17:59 + 2h = 09:59', () => {
      assert.equal(add('2026-01-13T16:59:00.000Z', 2), '2026-01-14T08:59:00.000Z');
    });

    it('ends at closing time rather than the next opening', () => {
      assert.equal(add('2026-01-13T15:00:00.000Z', 2), '2026-01-13T17:00:00.000Z');
    });

    it('keeps fractions and milliseconds, and spans several days', () => {
      assert.equal(add('2026-01-13T09:00:00.250Z', 0.5), '2026-01-13T09:30:00.250Z');
      assert.equal(add('2026-01-13T09:00:00.000Z', 25), '2026-01-15T14:00:00.000Z');
    });

    it('returns the start itself for zero hours inside a window, the next opening outside', () => {
      assert.equal(add('2026-01-13T09:00:00.000Z', 0), '2026-01-13T09:00:00.000Z');
      assert.equal(add('2026-01-13T17:00:00.000Z', 0), '2026-01-14T07:00:00.000Z');
    });

    it('counts local hours across the spring-forward weekend (CET -> CEST)', () => {
      // Fri 27 March 17:30 CET + 2h = Mon 30 March 09:30 CEST.
      assert.equal(add('2026-03-27T16:30:00.000Z', 2), '2026-03-30T07:30:00.000Z');
    });

    it('counts local hours across the fall-back weekend (CEST -> CET)', () => {
      // Fri 23 October 17:30 CEST + 2h = Mon 26 October 09:30 CET.
      assert.equal(add('2026-10-23T15:30:00.000Z', 2), '2026-10-26T08:30:00.000Z');
    });

    it('counts elapsed time, not wall-clock time, through a window that contains the switch', () => {
      const allDay = parseBusinessHours('Mon-Sun 00:00-24:00', 'Europe/Zurich');
      // Sun 29 March 00:00 CET + 4h: the clock jumps 02:00 -> 03:00, so it reads 05:00 CEST.
      assert.equal(add('2026-03-28T23:00:00.000Z', 4, allDay), '2026-03-29T03:00:00.000Z');
      assert.equal(add('2026-10-24T22:00:00.000Z', 4, allDay), '2026-10-25T02:00:00.000Z');
    });

    it('uses the calendar zone, not the host zone: New York', () => {
      const newYork = parseBusinessHours('Mon-Fri 09:00-17:00', 'America/New_York');
      // Tue 13 January 16:00 EST + 2h = Wed 10:00 EST.
      assert.equal(add('2026-01-13T21:00:00.000Z', 2, newYork), '2026-01-14T15:00:00.000Z');
      // Fri 6 March 16:00 EST + 3h = Mon 9 March 11:00 EDT (US clocks change on 8 March).
      assert.equal(add('2026-03-06T21:00:00.000Z', 3, newYork), '2026-03-09T15:00:00.000Z');
      // 16:00Z is 11:00 in New York but 17:00 in Zurich, where the same request ends the next morning.
      assert.equal(add('2026-01-13T16:00:00.000Z', 2, newYork), '2026-01-13T18:00:00.000Z');
      assert.equal(add('2026-01-13T16:00:00.000Z', 2), '2026-01-14T08:00:00.000Z');
    });

    it('skips closed weekdays of a day-list calendar', () => {
      const mornings = parseBusinessHours('Mon,Wed,Fri 08:00-12:00', 'Europe/Zurich');
      // Mon 12 January 11:00 + 3h: 1h on Monday, Tuesday closed, Wed 08:00 + 2h = 10:00.
      assert.equal(add('2026-01-12T10:00:00.000Z', 3, mornings), '2026-01-14T09:00:00.000Z');
    });

    it('round the clock in UTC adds exactly the hours (the calendar the workflow tests use)', () => {
      const always = parseBusinessHours('Mon-Sun 00:00-24:00', 'UTC');
      assert.equal(add('2026-01-09T23:12:34.567Z', 2, always), '2026-01-10T01:12:34.567Z');
      assert.equal(add('2026-01-09T23:12:34.567Z', 50, always), '2026-01-12T01:12:34.567Z');
    });

    it('rejects negative or non-finite hours, an invalid date and an impossible calendar', () => {
      assert.throws(() => add('2026-01-13T09:00:00.000Z', -1), RangeError);
      assert.throws(() => add('2026-01-13T09:00:00.000Z', Number.POSITIVE_INFINITY), RangeError);
      assert.throws(() => addBusinessHours(new Date('nope'), 2, zurich), RangeError);
      assert.throws(() => add('2026-01-13T09:00:00.000Z', 2, { ...zurich, days: [] }), RangeError);
      assert.throws(() => add('2026-01-13T09:00:00.000Z', 2, { ...zurich, startMinute: 600, endMinute: 600 }), RangeError);
    });
  });
});
