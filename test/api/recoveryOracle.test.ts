/**
 * Issue 14, item 1: no enumeration oracle in recovery. Each flow is driven, step by step, for a
 * known identifier and for unknown ones; every answer must be the same bytes (status, headers,
 * body), the request id masked. The repeated identity-check ask and the last steps come after both
 * processes reacted to the first ask (the unmatched one closed, the matched one opened its case),
 * which is when they used to differ.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { apiSuite } from '../support/api';
import { codeIn, eventually, holder, smsTo } from '../support/recovery';
import { uniquePhone, type Api } from '../support/verification';

type Answer = { status: number; headers: Record<string, string>; body: string };
type Step = { name: string; path: (requestId: string) => string; body: object };

/** Express's weak ETag of a body: a digest of the bytes and nothing else. */
const weakEtag = (body: string) => `W/"${Buffer.byteLength(body).toString(16)}-${createHash('sha1').update(body).digest('base64').slice(0, 27)}"`;

/**
 * Status, headers and body of an answer; the Date header (the clock's second) left out, the request
 * id masked, and X-Request-Id checked to be a fresh random id (made up per request, it says nothing).
 */
function normalize(res: { status: number; headers: Headers; text: string }, requestId: string): Answer {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'date') headers[name] = value;
  });
  if (headers['x-request-id']) {
    assert.match(headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random id of this request');
    headers['x-request-id'] = '<random id>';
  }
  if (headers.etag) {
    assert.equal(headers.etag, weakEtag(res.text), 'the ETag is the digest of the body');
    headers.etag = '<digest of the body>';
  }
  return { status: res.status, headers, body: res.text.split(requestId).join('<requestId>') };
}

describe('recovery answers nothing about whether an identifier is known (issue 14, item 1)', function () {
  this.timeout(180_000);
  const suite = apiSuite();

  /** A genuine, current code of another request: the best-looking guess an attacker has. */
  async function someoneElsesCode(api: Api): Promise<string> {
    const other = await holder(api.db);
    await api.call('POST', '/v1/recovery/login-email', { body: { phone: other.mobile_phone } });
    return codeIn((await smsTo(other.mobile_phone, /recover your login/)).body);
  }

  /**
   * Runs the whole sequence for each identifier, each step for all of them before the next, and
   * returns the answers per identifier. The `after` steps wait until every process acted on the ask.
   */
  async function drive(api: Api, base: string, starts: { label: string; body: object }[], steps: { before: Step[]; after: Step[] }) {
    const answers = new Map<string, { step: string; answer: Answer }[]>(starts.map((s) => [s.label, []]));
    const ids = new Map<string, string>();
    for (const s of starts) {
      const res = await api.call('POST', base, { body: s.body });
      assert.equal(res.status, 202, res.text);
      ids.set(s.label, res.json.requestId);
      answers.get(s.label)!.push({ step: 'request', answer: normalize(res, res.json.requestId) });
    }
    const run = async (list: Step[]) => {
      for (const step of list) {
        for (const s of starts)
          answers
            .get(s.label)!
            .push({ step: step.name, answer: normalize(await api.call('POST', step.path(ids.get(s.label)!), { body: step.body }), ids.get(s.label)!) });
      }
    };
    await run(steps.before);
    // Both processes have acted on the ask: the unmatched request is closed, the matched one has a case.
    for (const id of ids.values()) {
      await eventually(async () => {
        const r = await api.db
          .selectFrom('recovery_requests')
          .select(['account_id', 'closed_at', 'verification_case_id'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        if (!r.account_id) return r.closed_at;
        return r.verification_case_id && api.db.selectFrom('verification_cases').select('id').where('id', '=', r.verification_case_id).executeTakeFirst();
      }, 'the process to act on the identity-check ask');
    }
    await run(steps.after);
    return answers;
  }

  function assertAllAlike(answers: Map<string, { step: string; answer: Answer }[]>) {
    const [head, ...others] = [...answers.entries()];
    assert.ok(head);
    const [firstLabel, first] = head;
    for (const [label, list] of others) {
      assert.equal(list.length, first.length);
      for (const [i, a] of list.entries()) {
        assert.deepEqual(a, first[i], `step "${a.step}": ${label} answered differently from ${firstLabel}`);
      }
    }
    return first;
  }

  it('P3 by mobile number: request, wrong and right-looking codes, early deliver, identity check asked twice, then code and deliver again', async () => {
    const { api } = suite;
    const known = await holder(api.db);
    const shared = uniquePhone();
    for (let i = 0; i < 2; i += 1) {
      const h = await holder(api.db);
      await api.db.updateTable('accounts').set({ mobile_phone: shared }).where('id', '=', h.id).execute();
    }
    const guess = await someoneElsesCode(api);
    const wrong = guess === '000000' ? '111111' : '000000';
    const base = '/v1/recovery/login-email';
    const confirm = (name: string, code: string): Step => ({ name, path: (id) => `${base}/${id}/confirm`, body: { code } });
    const deliver: Step = { name: 'deliver', path: (id) => `${base}/${id}/deliver`, body: { channel: 'sms' } };
    const verification = (name: string): Step => ({ name, path: (id) => `${base}/${id}/verification`, body: {} });
    const answers = await drive(
      api,
      base,
      [
        { label: 'a known number', body: { phone: known.mobile_phone } },
        { label: 'an unknown number', body: { phone: uniquePhone() } },
        { label: 'a number two accounts share', body: { phone: shared } },
      ],
      {
        before: [confirm('wrong code', wrong), confirm('right-looking code', guess), deliver, verification('identity check')],
        after: [verification('identity check again'), confirm('code after the identity check', guess), deliver],
      },
    );
    // The known holder's phone got a code; nobody else's did, and the answers are one.
    await smsTo(known.mobile_phone, /recover your login/);
    const seen = assertAllAlike(answers);
    assert.deepEqual(
      seen.map((s) => [s.step, s.answer.status, JSON.parse(s.answer.body).attemptsLeft]),
      [
        ['request', 202, undefined],
        ['wrong code', 422, 4],
        ['right-looking code', 422, 3],
        ['deliver', 409, undefined],
        ['identity check', 202, undefined],
        ['identity check again', 202, undefined],
        ['code after the identity check', 422, 0],
        ['deliver', 409, undefined],
      ],
    );
  });

  for (const channel of ['email', 'sms'] as const) {
    it(`P4 by login (${channel}): request, wrong and right-looking codes, identity check asked twice, then a code again`, async () => {
      const { api } = suite;
      const known = await holder(api.db);
      const withoutRecoveryEmail = await holder(api.db, { recoveryEmail: false });
      const guess = await someoneElsesCode(api);
      const wrong = guess === '000000' ? '111111' : '000000';
      const base = '/v1/recovery/password';
      const confirm = (name: string, code: string): Step => ({ name, path: (id) => `${base}/${id}/confirm`, body: { code } });
      const verification = (name: string): Step => ({ name, path: (id) => `${base}/${id}/verification`, body: {} });
      const answers = await drive(
        api,
        base,
        [
          { label: 'a known login with a recovery email', body: { login: known.login_email, channel } },
          { label: 'a known login without one', body: { login: withoutRecoveryEmail.login_email, channel } },
          { label: 'an unknown login', body: { login: `nobody-${Date.now()}@customer.test`, channel } },
        ],
        {
          before: [confirm('wrong code', wrong), confirm('right-looking code', guess), verification('identity check')],
          after: [verification('identity check again'), confirm('code after the identity check', guess)],
        },
      );
      const seen = assertAllAlike(answers);
      assert.deepEqual(
        seen.map((s) => [s.step, s.answer.status, JSON.parse(s.answer.body).attemptsLeft]),
        [
          ['request', 202, undefined],
          ['wrong code', 422, 4],
          ['right-looking code', 422, 3],
          ['identity check', 202, undefined],
          ['identity check again', 202, undefined],
          ['code after the identity check', 422, 0],
        ],
      );
    });
  }
});
