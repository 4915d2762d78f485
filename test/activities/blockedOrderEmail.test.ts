/**
 * Issue 17, item 10: the blocked-order email (P1's procedure, sent through P2's link) holds the QR
 * code itself: a text part with the link, an HTML part showing the link and the code as an inline
 * image (cid:), drawn at send time from the secret the outbox row still holds. Over a real SMTP
 * server that answers 451 to the first message for each recipient, as a greylisting one does; the
 * retry is the activity run again, as Temporal does.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { findByKey, REDACTED } from '../../db/repositories/outbox';
import { hashLinkToken, insertCase } from '../../db/repositories/verification';
import { newCaseKey } from '../../lib/documentCrypto';
import { qrPng } from '../../lib/qr';
import { database, fixtureKeyring, seedOrganization } from '../support/fixtures';
import { activitiesOver, greylistingSmtp } from '../support/greylistingSmtp';

const PUBLIC_URL = 'http://backoffice.test';

describe('the blocked-order email holds its QR code (issue 17, item 10)', function () {
  this.timeout(60_000);
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let smtp: Awaited<ReturnType<typeof greylistingSmtp>>;
  let acts: Awaited<ReturnType<typeof activitiesOver>>;

  before(async () => {
    smtp = await greylistingSmtp();
    acts = await activitiesOver(smtp.url, PUBLIC_URL);
  });
  after(async () => smtp?.close());

  it('sends text and HTML with the QR code inline, the same code again after a 451, and the row keeps no link', async () => {
    const { db } = await database();
    const seed = await seedOrganization(db);
    const caseId = randomUUID();
    await insertCase(db, {
      id: caseId,
      accountId: seed.legalRep.id,
      reason: 'blocked_order',
      subject: { type: 'order', id: randomUUID() },
      openedBy: 'system:order-block',
      openedAt: new Date(),
      dataKeyWrapped: newCaseKey(fixtureKeyring()).wrapped,
    });

    const first = await env.run(acts.issueVerificationLink, { caseId, seq: 1 }).then(
      () => assert.fail('the first attempt should meet the 451'),
      (e: unknown) => e,
    );
    assert.ok(first instanceof ApplicationFailure && !first.nonRetryable, String(first));
    assert.deepEqual(await env.run(acts.issueVerificationLink, { caseId, seq: 1 }), { delivered: true });

    const attempts = smtp.attempts(seed.legalRep.login_email);
    assert.deepEqual(
      attempts.map((a) => a.accepted),
      [false, true],
    );
    const { mail } = attempts[1]!;
    assert.equal(mail.subject, 'Verify your identity');
    assert.equal(mail.headers.get('content-type') && (mail.headers.get('content-type') as { value: string }).value, 'multipart/alternative');

    // The text part, as before: the link, which is the one minted for the case.
    assert.match(mail.text ?? '', /to unblock your order/);
    const link = /(http:\/\/backoffice\.test\/verify\/([A-Za-z0-9_-]{43}))\b/.exec(mail.text ?? '');
    assert.ok(link, mail.text);
    const [, url, token] = link;
    const { link_token_hash } = await db.selectFrom('verification_cases').select('link_token_hash').where('id', '=', caseId).executeTakeFirstOrThrow();
    assert.deepEqual(link_token_hash, hashLinkToken(token!));

    // The HTML part: the link, and the image it refers to by cid, right under it.
    const html = typeof mail.html === 'string' ? mail.html : '';
    assert.ok(html.includes(`<a href="${url}">${url}</a><br><img src="cid:qr@backoffice"`), html);
    const images = mail.attachments.filter((a) => a.contentType === 'image/png');
    assert.equal(images.length, 1);
    const [image] = images;
    assert.deepEqual([image!.cid, image!.contentDisposition, image!.related], ['qr@backoffice', 'inline', true]);
    // The code of the link: the bytes the app's QR function (and GET …/qr.png) draws for it.
    assert.ok(image!.content.equals(await qrPng(url!)), 'the inline image is the QR code of the link');

    // The refused attempt carried the same link and the same image.
    const refused = attempts[0]!.mail;
    assert.equal(refused.text, mail.text);
    assert.ok(refused.attachments.find((a) => a.cid === 'qr@backoffice')!.content.equals(image!.content));

    const row = (await findByKey(db, `verification:${caseId}:link:1`))!;
    assert.deepEqual([row.status, row.attempts, row.qr], ['sent', 2, `${PUBLIC_URL}/verify/${REDACTED}`]);
    assert.ok(!row.body.includes(token!), 'the sent link is redacted from the outbox');
    assert.doesNotMatch(row.body, /[\ue000\ue001]/);

    // A retry after the send (a crash before the activity completed) sends nothing and mints nothing.
    assert.deepEqual(await env.run(acts.issueVerificationLink, { caseId, seq: 1 }), { delivered: true });
    assert.equal(smtp.attempts(seed.legalRep.login_email).length, 2);
  });
});
