import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database';
import { hashPassword } from '../../lib/passwords';
import { verificationWorkflowId } from '../../workflows/shared/verification';
import { smsSink, smtpCapture } from './fixtures';
import { decideCase, submitCaseByUpdates, uniquePhone, type Api } from './verification';

export const PASSWORD = 'correct horse battery';

/** A customer with a password, a mobile number and a recovery address, unique to the test. */
export async function holder(db: Kysely<Database>, opts: { recoveryEmail?: boolean; loginDomain?: string; name?: string } = {}) {
  const tag = randomUUID().slice(0, 8);
  const a = {
    id: randomUUID(),
    login_email: `holder-${tag}@${opts.loginDomain ?? 'customer.test'}`,
    display_name: opts.name ?? `Hanna Olsen ${tag}`,
    mobile_phone: uniquePhone(),
    recovery_email: opts.recoveryEmail === false ? null : `rescue-${tag}@elsewhere.test`,
    password_hash: await hashPassword(PASSWORD),
  };
  await db.insertInto('accounts').values(a).execute();
  return a;
}

export async function smsTo(phone: string, match: RegExp = /./, after = 0) {
  const sink = await smsSink();
  return sink.waitFor((m) => m.to === phone && match.test(m.body) && sink.messages().indexOf(m) >= after, 30_000);
}
export async function mailTo(address: string, match: RegExp = /./) {
  return (await smtpCapture()).waitFor((m) => m.to.includes(address) && (match.test(m.subject) || match.test(m.text)), 30_000);
}
export const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;

/** The customer passes the identity check's steps and an agent approves (or rejects) it. */
export async function passIdentityCheck(api: Api, caseId: string, agentId: string, decision: 'approve' | 'reject' = 'approve') {
  for (let i = 0; i < 100; i += 1) {
    const row = await api.db.selectFrom('verification_cases').select('status').where('id', '=', caseId).executeTakeFirst();
    if (row) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const handle = api.client.workflow.getHandle(verificationWorkflowId(caseId));
  await submitCaseByUpdates(handle, api.db, caseId);
  await decideCase(handle, api.db, caseId, agentId, decision);
}

export async function login(api: Api, login: string, password = PASSWORD, otp?: string) {
  return api.call('POST', '/v1/sessions', { body: { login, password, ...(otp ? { otp } : {}) } });
}

export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    assert.ok(Date.now() < until, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
