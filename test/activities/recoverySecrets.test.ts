/**
 * Issue 14, item 5: a code or link token is minted once per outbox key, so a retried send re-sends
 * the same one (and it works), and no usable secret stays in clear in the outbox once the message
 * is out, whichever attempt sent it. Over a real SMTP server that answers 451 to the first message
 * for each recipient, and the twilio peer answering 503 once; the retries are the activity run
 * again, as Temporal does.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { findByKey } from '../../db/repositories/outbox';
import { newRecoveryRequest, recoveryCodeScope } from '../../db/repositories/recovery';
import { accountSecrets, tokenHash } from '../../lib/accountSecrets';
import { database, fixtureKeyring, smsSink } from '../support/fixtures';
import { holder } from '../support/recovery';
import { activitiesOver, greylistingSmtp } from '../support/greylistingSmtp';

describe('recovery secrets are minted once per outbox key and leave the outbox once sent (issue 14, item 5)', function () {
  this.timeout(60_000);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const secrets = accountSecrets(fixtureKeyring());
  const LINK = /\/reset-password\/([A-Za-z0-9_-]{43})\b/;
  let smtp: Awaited<ReturnType<typeof greylistingSmtp>>;
  let acts: Awaited<ReturnType<typeof activitiesOver>>;

  before(async () => {
    smtp = await greylistingSmtp();
    acts = await activitiesOver(smtp.url);
  });
  after(async () => smtp?.close());

  /** The first attempt fails as retryable; the second (Temporal's retry) goes through. */
  async function failsOnceThenSucceeds<T>(run: () => Promise<T>): Promise<T> {
    const err = await run().then(
      () => assert.fail('the first attempt should meet the 451'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure && !err.nonRetryable, String(err));
    return run();
  }

  /** What the outbox row keeps once the message is out: neither the secret nor the marks around it. */
  async function assertRedacted(key: string, secret: string) {
    const row = (await findByKey((await database()).db, key))!;
    assert.ok(!row.body.includes(secret), `${key} still holds the secret`);
    assert.match(row.body, /\[redacted\]/);
    assert.doesNotMatch(row.body, /[\ue000\ue001]/);
    return row;
  }

  async function request(q: { kind: 'login_email' | 'password'; channel: 'sms' | 'email'; accountId: string }) {
    const { db } = await database();
    const id = randomUUID();
    await db
      .insertInto('recovery_requests')
      .values(newRecoveryRequest({ id, ...q, now: new Date() }))
      .execute();
    return id;
  }

  it('P4 reset link: after a 451 the retry sends the same token, which is the one that works, and the row keeps none', async () => {
    const { db } = await database();
    const h = await holder(db);
    const id = await request({ kind: 'password', channel: 'email', accountId: h.id });
    const refusedBefore = smtp.refused();
    assert.deepEqual(await failsOnceThenSucceeds(() => env.run(acts.beginRecovery, { requestId: id })), { sent: 'link', clock: 'link' });
    assert.equal(smtp.refused(), refusedBefore + 1);
    const mails = smtp.to(h.recovery_email!);
    assert.equal(mails.length, 1);
    const token = LINK.exec(mails[0]!.text)![1]!;
    const r = await db.selectFrom('recovery_requests').select('token_hash').where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(r.token_hash, tokenHash(token), 'the emailed link is the minted one');
    const row = await assertRedacted(`recovery:${id}:link`, token);
    assert.deepEqual([row.status, row.attempts], ['sent', 2]);
    // A further retry (a crash after the send) sends nothing new and mints nothing.
    await env.run(acts.beginRecovery, { requestId: id });
    assert.equal(smtp.to(h.recovery_email!).length, 1);
    assert.deepEqual(
      (await db.selectFrom('recovery_requests').select('token_hash').where('id', '=', id).executeTakeFirstOrThrow()).token_hash,
      tokenHash(token),
    );
  });

  it('P4 link after an identity check: the retry re-sends the queued link instead of minting one that voids it', async () => {
    const { db } = await database();
    const h = await holder(db, { recoveryEmail: false });
    const id = await request({ kind: 'password', channel: 'email', accountId: h.id });
    // An earlier, unused link of the request: the fresh one replaces it.
    await db
      .updateTable('recovery_requests')
      .set({ token_hash: tokenHash('an earlier link'), token_expires_at: new Date(Date.now() + 60_000) })
      .where('id', '=', id)
      .execute();
    await failsOnceThenSucceeds(() => env.run(acts.sendPasswordResetLink, { requestId: id }));
    const mails = smtp.to(h.login_email);
    assert.equal(mails.length, 1);
    const token = LINK.exec(mails[0]!.text)![1]!;
    const r = await db.selectFrom('recovery_requests').select('token_hash').where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(r.token_hash, tokenHash(token));
    await assertRedacted(`recovery:${id}:link:verified`, token);
  });

  it('a code by email (new login address): the retry sends the same code, which matches, and the row keeps none', async () => {
    const { db } = await database();
    const h = await holder(db);
    const id = randomUUID();
    const address = `new-${id.slice(0, 8)}@customer.test`;
    await db.insertInto('recovery_requests').values({ id, kind: 'login_address', account_id: h.id, channel: 'email', pending_email: address }).execute();
    await failsOnceThenSucceeds(() => env.run(acts.sendLoginEmailCode, { requestId: id }));
    const mails = smtp.to(address);
    assert.equal(mails.length, 1);
    const code = /\b(\d{6})\b/.exec(mails[0]!.text)![1]!;
    const r = await db.selectFrom('recovery_requests').select('code_hash').where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(secrets.codeMatches(r.code_hash, recoveryCodeScope(id), code), 'the emailed code is the minted one');
    await assertRedacted(`recovery:${id}:code`, code);
  });

  it('a code by SMS: after the provider answered 503, the retry sends the same code and the row keeps none', async () => {
    const { db } = await database();
    const h = await holder(db);
    const id = await request({ kind: 'login_email', channel: 'sms', accountId: h.id });
    const sink = await smsSink();
    sink.failNext(1);
    await failsOnceThenSucceeds(() => env.run(acts.beginRecovery, { requestId: id }));
    const sms = sink.messages().filter((m) => m.to === h.mobile_phone);
    assert.equal(sms.length, 1);
    const code = /\b(\d{6})\b/.exec(sms[0]!.body)![1]!;
    const r = await db.selectFrom('recovery_requests').select('code_hash').where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(secrets.codeMatches(r.code_hash, recoveryCodeScope(id), code));
    await assertRedacted(`recovery:${id}:code`, code);
  });

  it('a message refused for good keeps no secret either', async () => {
    const { db } = await database();
    const h = await holder(db, { recoveryEmail: false });
    await db
      .updateTable('accounts')
      .set({ login_email: `gone-${h.id.slice(0, 8)}@reject.test` })
      .where('id', '=', h.id)
      .execute();
    const id = await request({ kind: 'password', channel: 'email', accountId: h.id });
    // The process goes on without the message (deliverIfPossible): no failure to retry.
    await env.run(acts.sendPasswordResetLink, { requestId: id });
    const row = (await findByKey(db, `recovery:${id}:link:verified`))!;
    assert.equal(row.status, 'failed');
    assert.match(row.body, /\/reset-password\/\[redacted\]/);
  });
});
