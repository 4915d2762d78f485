import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createNotificationActivities } from '../../activities/notifications';
import type { ActivityDeps } from '../../activities/deps';
import { findByKey, enqueue, REDACTED } from '../../db/repositories/outbox';
import { createMailer } from '../../lib/mailer';
import { FailureType } from '../../workflows/shared/failures';
import { database, smsSink, smtpCapture } from '../support/fixtures';
import { realActivities } from '../support/worker';

describe('notification activities', () => {
  // Failures are what several tests expect: log only errors, not their stack traces at WARN.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

  it('sends an email over SMTP once per outbox key, however often it is called', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    const to = `once-${randomUUID()}@customer.test`;
    await enqueue(db, { key, channel: 'email', recipient: to, subject: 'Hello', body: 'Body text' });
    await enqueue(db, { key, channel: 'email', recipient: 'someone-else@customer.test', subject: 'Dup', body: 'ignored' });

    assert.deepEqual(await env.run(acts.deliverNotification, { key }), { status: 'sent' });
    assert.deepEqual(await env.run(acts.deliverNotification, { key }), { status: 'sent' });

    const smtp = await smtpCapture();
    await smtp.waitFor((m) => m.to.includes(to));
    const received = smtp.messages().filter((m) => m.to.includes(to));
    assert.equal(received.length, 1);
    assert.equal(received[0]!.subject, 'Hello');
    assert.equal(smtp.messages().filter((m) => m.to.includes('someone-else@customer.test')).length, 0);
    const row = await findByKey(db, key);
    assert.equal(row?.status, 'sent');
    assert.equal(row?.attempts, 1);
  });

  it('sends an SMS through the twilio client to the local peer', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    const phone = `+4179${Math.floor(1e6 + Math.random() * 8e6)}`;
    await enqueue(db, { key, channel: 'sms', recipient: phone, body: 'Your code is 123456' });
    await env.run(acts.deliverNotification, { key });
    const sms = await (await smsSink()).waitFor((m) => m.to === phone);
    assert.equal(sms.body, 'Your code is 123456');
    assert.match((await findByKey(db, key))!.provider_message_id!, /^SM/);
  });

  const failure = async (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('expected a failure'),
      (err: unknown) => err,
    );

  it('marks a malformed address as a permanent, non-retryable failure without sending', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    await enqueue(db, { key, channel: 'email', recipient: 'not-an-address', subject: 's', body: 'b' });
    const err = await failure(env.run(acts.deliverNotification, { key }));
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.PermanentDeliveryFailure);
    assert.equal(err.nonRetryable, true);
    const row = await findByKey(db, key);
    assert.equal(row?.status, 'failed');
    assert.match(row?.last_error ?? '', /malformed/);
  });

  it('treats an SMTP 550 as permanent and records it on the row', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    await enqueue(db, { key, channel: 'email', recipient: `gone-${randomUUID()}@reject.test`, subject: 's', body: 'b' });
    const err = await failure(env.run(acts.deliverNotification, { key }));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal((await findByKey(db, key))?.status, 'failed');
  });

  it('treats a number Twilio rejects (21211) as permanent', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    // Passes our E.164 shape check but not the peer's stricter one: the rejection comes from the provider.
    await enqueue(db, { key, channel: 'sms', recipient: '+1234567', body: 'b' });
    const sink = await smsSink();
    const orig = sink.messages().length;
    const err = await failure(env.run(acts.deliverNotification, { key }));
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.equal(sink.messages().length, orig);
    assert.match((await findByKey(db, key))?.last_error ?? '', /21211/);
  });

  it('retries a transport failure (503) and keeps the row pending until it goes through', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const key = `test:${randomUUID()}`;
    const phone = `+4178${Math.floor(1e6 + Math.random() * 8e6)}`;
    await enqueue(db, { key, channel: 'sms', recipient: phone, body: 'retry me' });
    const sink = await smsSink();
    sink.failNext(1);
    const err = await failure(env.run(acts.deliverNotification, { key }));
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.nonRetryable, false);
    assert.equal((await findByKey(db, key))?.status, 'pending');
    await env.run(acts.deliverNotification, { key });
    const row = await findByKey(db, key);
    assert.equal(row?.status, 'sent');
    assert.equal(row?.attempts, 2);
  });

  it('keeps a number or address on the row only until it is sent or failed for good, not even in the provider’s error (issue 14, item 6)', async () => {
    const { db } = await database();
    const acts = await realActivities();
    const phone = `+4177${Math.floor(1e6 + Math.random() * 8e6)}`;
    const retried = `test:${randomUUID()}`;
    await enqueue(db, { key: retried, channel: 'sms', recipient: phone, body: 'retried' });
    (await smsSink()).failNext(1);
    await failure(env.run(acts.deliverNotification, { key: retried }));
    assert.equal((await findByKey(db, retried))?.recipient, phone, 'kept while the message is still to be sent');
    await env.run(acts.deliverNotification, { key: retried });
    const sent = (await findByKey(db, retried))!;
    assert.deepEqual([sent.status, sent.recipient, sent.last_error], ['sent', REDACTED, null]);

    const email = `kept-${randomUUID()}@customer.test`;
    const mailed = `test:${randomUUID()}`;
    await enqueue(db, { key: mailed, channel: 'email', recipient: email, subject: 's', body: 'b' });
    await env.run(acts.deliverNotification, { key: mailed });
    assert.equal((await findByKey(db, mailed))?.recipient, REDACTED);

    // Twilio's 21211 quotes the number it refuses.
    const refused = `test:${randomUUID()}`;
    await enqueue(db, { key: refused, channel: 'sms', recipient: '+1234567', body: 'b' });
    await failure(env.run(acts.deliverNotification, { key: refused }));
    const failed = (await findByKey(db, refused))!;
    assert.deepEqual([failed.status, failed.recipient], ['failed', REDACTED]);
    assert.match(failed.last_error ?? '', /21211/);
    assert.ok(!failed.last_error?.includes('1234567'), failed.last_error ?? '');
  });

  it('once the SMTP server accepted, retries the sent mark while PostgreSQL refuses it, and never sends again', async () => {
    const { db } = await database();
    const smtp = await smtpCapture();
    const key = `test:${randomUUID()}`;
    const to = `mark-${randomUUID()}@customer.test`;
    await enqueue(db, { key, channel: 'email', recipient: to, subject: 'Hello', body: 'Body text' });
    // PostgreSQL goes away right after the message is out: the next two writes to the outbox fail.
    let refusals = 0;
    const flaky = new Proxy(db, {
      get(target, prop) {
        if (prop === 'updateTable' && smtp.messages().some((m) => m.to.includes(to)) && refusals < 2) {
          refusals += 1;
          return () => {
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const acts = createNotificationActivities({
      db: flaky,
      mailer: createMailer(smtp.url, 'Backoffice <no-reply@backoffice.test>'),
    } as unknown as ActivityDeps);
    assert.deepEqual(await env.run(acts.deliverNotification, { key }), { status: 'sent' });
    assert.equal(refusals, 2);
    assert.deepEqual(await env.run(acts.deliverNotification, { key }), { status: 'sent' }, 'a retry of the activity finds it sent');
    assert.equal(smtp.messages().filter((m) => m.to.includes(to)).length, 1);
    const row = await findByKey(db, key);
    assert.equal(row?.status, 'sent');
    assert.equal(row?.attempts, 1, 'no failed attempt recorded for a message that went out');
  });
});
