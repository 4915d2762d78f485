import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { createDataConverter } from '../temporal/dataConverter';
import { workflowsPath } from '../temporal/worker';
import { fixtureKeyring, workflowBundle } from './support/fixtures';

// Recorded histories (npm run record-histories) must replay on today's workflow code with the
// production data converter: otherwise a deploy would break the workflows already running.
describe('replay of recorded histories', function () {
  this.timeout(120_000);
  const dir = path.join(__dirname, 'histories');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    for (const name of [
      'support-access-expired',
      'support-access-revoked',
      'verification-approved',
      'verification-expired',
      'verification-resubmission-expired',
      'order-block-fulfilled',
      'order-block-timeout',
      'product-cancellation-confirmed',
      'renewal-term-paid',
      'renewal-declined-terminated',
      'renewal-charged-by-payment',
      'payment-captured',
      'payment-declined',
      'legal-rep-handover-invited',
      'member-invitation-accepted',
      'partner-invitation-accepted',
      'recovery-login-delivered',
      'password-recovery-verified',
      'login-address-recovery-reminded',
      'account-security-case-approved',
      'prepaid-deposit-credited',
      'prepaid-payout-approved',
      'prepaid-payout-expired',
      'order-cashback-credited',
    ]) {
      assert.ok(files.includes(`${name}.json`), `test/histories/${name}.json is missing`);
    }
  });

  it('has a recorded history for every workflow type the worker registers', () => {
    // The module the worker bundles; outside the sandbox, loading it only defines the functions.
    const exported = Object.entries(require(workflowsPath) as Record<string, unknown>).flatMap(([name, value]) => (typeof value === 'function' ? [name] : []));
    assert.ok(exported.length > 0, `${workflowsPath} exports no workflow`);
    const recorded = new Set(
      files.map(
        (f) =>
          (
            JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
              events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
            }
          ).events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
      ),
    );
    const missing = exported.filter((name) => !recorded.has(name));
    assert.deepEqual(
      missing,
      [],
      `no recorded history of ${missing.join(', ')}: add a recorder to scripts/record-histories.ts and run npm run record-histories -- <its name>`,
    );
  });

  it('replays every one without nondeterminism', async () => {
    const histories = files.map((f) => ({ workflowId: path.basename(f, '.json'), history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as unknown }));
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle(), dataConverter: createDataConverter(fixtureKeyring()) }, histories);
    let replayed = 0;
    for await (const result of results) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });

  it('holds every payload encrypted and no personal data in plain text', () => {
    for (const f of files) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      assert.ok(!/@customer\.test/.test(text), `${f} contains an email address`);
      const encodings: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk);
        if (!node || typeof node !== 'object') return;
        const meta = (node as { metadata?: { encoding?: string } }).metadata;
        if (meta?.encoding) encodings.push(Buffer.from(meta.encoding, 'base64').toString());
        // Patch markers (the patch's id, written by the SDK in the clear) carry no data of ours.
        for (const [key, value] of Object.entries(node)) if (key !== 'patch-data' && key !== 'TemporalChangeVersion') walk(value);
      };
      walk(JSON.parse(text));
      assert.ok(encodings.length > 0, `${f} has no payloads`);
      assert.deepEqual([...new Set(encodings)], ['binary/encrypted'], `${f} has unencrypted payloads`);
    }
  });
});
