/**
 * Walks identity-verification cases through the API the way a customer's phone would: the link
 * comes from the email the SMTP capture received, the code from the SMS the twilio peer received.
 */
import { strict as assert } from 'node:assert';
import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { findCase, insertDocuments, insertEvidence } from '../../db/repositories/verification';
import { sealDocument, sealEvidence, unwrapCaseKey } from '../../lib/documentCrypto';
import { qrPng } from '../../lib/qr';
import type { WorkflowHandle } from '@temporalio/client';
import {
  confirmCodeUpdate,
  decideUpdate,
  documentUpdate,
  geolocationUpdate,
  selfieUpdate,
  submitPhoneUpdate,
  type DocumentKind,
  type PhoneSubmission,
  type Position,
  type PositionSubmission,
} from '../../workflows/shared/verification';
import { fixtureKeyring, smsSink, smtpCapture } from './fixtures';
import type { startApi } from './api';

export type Api = Awaited<ReturnType<typeof startApi>>;

/** A real PNG (it renders in a browser) whose bytes differ per label. */
export async function testImage(label: string): Promise<string> {
  return (await qrPng(`test image ${label}`)).toString('base64');
}

/** A Swiss mobile number no other test uses. */
export const uniquePhone = () => `+4179${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

const LINK = /\/verify\/([A-Za-z0-9_-]{43})/;

/** The newest link token emailed to `email`, past the `after` tokens already seen. */
export async function linkTokenFor(email: string, seen: string[] = []): Promise<string> {
  const smtp = await smtpCapture();
  const message = await smtp.waitFor((m) => m.to.includes(email) && LINK.test(m.text) && !seen.includes(LINK.exec(m.text)![1]!), 30_000);
  return LINK.exec(message.text)![1]!;
}

/** The code of the SMS sent to `phone`, ignoring messages already seen. */
export async function smsCodeFor(phone: string, seenSids: Set<string> = new Set()): Promise<string> {
  const sink = await smsSink();
  const sms = await sink.waitFor((m) => m.to === phone && !seenSids.has(m.sid), 30_000);
  seenSids.add(sms.sid);
  return /\b(\d{6})\b/.exec(sms.body)![1]!;
}

export async function openCase(api: Api, accountId: string, reason = 'account_unblock') {
  const system = await api.token('system', 'test-suite');
  const res = await api.call('POST', '/v1/verification-cases', { token: system, body: { accountId, reason } });
  assert.equal(res.status, 201, res.text);
  const account = await api.db.selectFrom('accounts').select('login_email').where('id', '=', accountId).executeTakeFirstOrThrow();
  const token = await linkTokenFor(account.login_email);
  return { caseId: res.json.id as string, token, email: account.login_email };
}

/** Phone, SMS code and geolocation: leaves the case at the document step. */
export async function passPhoneAndPosition(api: Api, token: string, phone = uniquePhone()) {
  const sent = await api.call('POST', `/v1/verification/${token}/phone`, { body: { phone } });
  assert.equal(sent.status, 200, sent.text);
  const code = await smsCodeFor(phone);
  const confirmed = await api.call('POST', `/v1/verification/${token}/phone/confirm`, { body: { code } });
  assert.equal(confirmed.status, 200, confirmed.text);
  const located = await api.call('POST', `/v1/verification/${token}/geolocation`, { body: { latitude: 46.52, longitude: 6.63, accuracyMeters: 12 } });
  assert.equal(located.status, 200, located.text);
  return { phone };
}

/** Identity card and selfie: the case is submitted. */
export async function sendDocuments(api: Api, token: string, label = 'doc') {
  const images = [await testImage(`${label} front`), await testImage(`${label} back`)];
  const doc = await api.call('POST', `/v1/verification/${token}/document`, { body: { type: 'id_card', images } });
  assert.equal(doc.status, 200, doc.text);
  const selfie = await api.call('POST', `/v1/verification/${token}/selfie`, { body: { image: await testImage(`${label} selfie`) } });
  assert.equal(selfie.status, 200, selfie.text);
  assert.equal(selfie.json.step, 'review');
  return { images: [...images, selfie] };
}

/** Opens a case and walks every customer step: the case is submitted and in the review queue. */
export async function openSubmittedCase(api: Api, accountId: string): Promise<{ caseId: string; documentIds: string[] }> {
  const { caseId, token } = await openCase(api, accountId);
  await passPhoneAndPosition(api, token);
  await sendDocuments(api, token, caseId);
  const agentView = await api.db.selectFrom('verification_documents').select('id').where('case_id', '=', caseId).orderBy('created_at').execute();
  return { caseId, documentIds: agentView.map((d) => d.id) };
}

/** Stores sealed images the way the API does, for workflow tests that talk to Temporal directly. */
export async function storeTestDocuments(db: Kysely<Database>, caseId: string, kinds: DocumentKind[]): Promise<string[]> {
  const c = (await findCase(db, caseId))!;
  const key = unwrapCaseKey(fixtureKeyring(), c.data_key_wrapped!);
  const rows = kinds.map((kind) => {
    const id = randomUUID();
    const image = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(`image ${kind} ${id}`)]);
    return {
      id,
      case_id: caseId,
      round: c.round,
      kind,
      media_type: 'image/png' as const,
      size_bytes: image.length,
      sealed: sealDocument(key, image, `${caseId}:${id}`),
    };
  });
  await insertDocuments(db, rows);
  return rows.map((r) => r.id);
}

async function sealTestEvidence(db: Kysely<Database>, caseId: string, kind: 'phone' | 'position', value: unknown): Promise<string> {
  const c = (await findCase(db, caseId))!;
  const id = randomUUID();
  await insertEvidence(db, {
    id,
    case_id: caseId,
    round: c.round,
    kind,
    sealed: sealEvidence(unwrapCaseKey(fixtureKeyring(), c.data_key_wrapped!), value, caseId, id),
  });
  return id;
}

/** Seals a phone number the way the API does: the submitPhone update's argument. */
export const sealedPhone = async (db: Kysely<Database>, caseId: string, phone: string): Promise<PhoneSubmission> => ({
  phoneRef: await sealTestEvidence(db, caseId, 'phone', { phone }),
});

/** Seals a position the way the API does: the submitGeolocation update's argument. */
export const sealedPosition = async (db: Kysely<Database>, caseId: string, position: Position): Promise<PositionSubmission> => ({
  positionRef: await sealTestEvidence(db, caseId, 'position', position),
});

/** Every customer step through the workflow's updates (no API): the case ends up submitted. */
export async function submitCaseByUpdates(handle: WorkflowHandle, db: Kysely<Database>, caseId: string, phone = uniquePhone()): Promise<void> {
  await handle.executeUpdate(submitPhoneUpdate, { args: [await sealedPhone(db, caseId, phone)] });
  const confirmed = await handle.executeUpdate(confirmCodeUpdate, { args: [{ code: await smsCodeFor(phone) }] });
  assert.equal(confirmed.result, 'confirmed');
  await handle.executeUpdate(geolocationUpdate, { args: [await sealedPosition(db, caseId, { latitude: 47.37, longitude: 8.54, accuracyMeters: 20 })] });
  await handle.executeUpdate(documentUpdate, {
    args: [{ type: 'id_card', documentIds: await storeTestDocuments(db, caseId, ['id_card_front', 'id_card_back']) }],
  });
  const [selfie] = await storeTestDocuments(db, caseId, ['selfie']);
  assert.equal((await handle.executeUpdate(selfieUpdate, { args: [{ documentId: selfie! }] })).step, 'review');
}

/** Claims the case for `agentId` and records the decision, as the desk would. */
export async function decideCase(handle: WorkflowHandle, db: Kysely<Database>, caseId: string, agentId: string, decision: 'approve' | 'reject') {
  await db.updateTable('verification_cases').set({ assigned_agent_id: agentId, claimed_at: new Date() }).where('id', '=', caseId).execute();
  await handle.executeUpdate(decideUpdate, { args: [{ agentId, decision, reason: `${decision} in a test` }] });
}
