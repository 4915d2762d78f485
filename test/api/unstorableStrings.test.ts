/**
 * Issue 14, item 9 (first half): a NUL byte or a lone surrogate in any string a route receives is
 * invalid input (400 `validation-failed`), refused before the route runs: a NUL used to reach
 * PostgreSQL and answer 500, a lone surrogate to be stored as U+FFFD.
 */
import { strict as assert } from 'node:assert';
import { apiSuite, assertProblem } from '../support/api';

describe('strings PostgreSQL cannot store are refused, for every route (issue 14, item 9)', function () {
  this.timeout(120_000);
  const suite = apiSuite();
  const json = { 'content-type': 'application/json' };
  const pointers = (res: { json: { errors?: { location: string; pointer: string }[] } }) => res.json.errors?.map((e) => `${e.location} ${e.pointer}`);

  it('answers 400 validation-failed for a NUL byte in a body string, where PostgreSQL answered 500', async () => {
    const { api } = suite;
    const res = await api.call('POST', '/v1/recovery/password', { body: { login: 'nul\u0000@customer.test' } });
    assertProblem(res, 400, 'validation-failed');
    assert.deepEqual(pointers(res), ['body /login']);
  });

  it('answers 400 for lone high and low surrogates, however deep, and names where they are', async () => {
    const { api, seed, tokens } = suite;
    // Written as JSON escapes: JSON.parse turns them into lone UTF-16 code units.
    const high = await api.call('POST', '/v1/recovery/password', { raw: '{"login":"\\ud800holder@customer.test"}', headers: json });
    assertProblem(high, 400, 'validation-failed');
    assert.deepEqual(pointers(high), ['body /login']);
    const raw = `{"organizationId":"${seed.org.id}","ticketId":"${seed.ticket.id}","kind":"mail","resourceIds":["info@shop.example","sales\\udc00@shop.example"]}`;
    const low = await api.call('POST', '/v1/support-access-grants', { token: tokens.legalRep, raw, headers: json });
    assertProblem(low, 400, 'validation-failed');
    assert.deepEqual(pointers(low), ['body /resourceIds/1']);
  });

  it('answers 400 for a member name, a path parameter or a query value holding one', async () => {
    const { api, tokens } = suite;
    const key = await api.call('POST', '/v1/recovery/password', { raw: '{"login":"holder@customer.test","\\u0000":1}', headers: json });
    assertProblem(key, 400, 'validation-failed');
    assert.match(key.json.errors[0].message, /member name/);
    const path = await api.call('POST', '/v1/recovery/password/%00/verification');
    assertProblem(path, 400, 'validation-failed');
    assert.deepEqual(pointers(path), ['path /requestId']);
    const query = await api.call('GET', '/v1/verification-cases?status=submitted%00', { token: tokens.agent });
    assertProblem(query, 400, 'validation-failed');
    assert.deepEqual(pointers(query), ['query /status']);
  });

  it('accepts well-formed text outside the Basic Multilingual Plane', async () => {
    const { api } = suite;
    const res = await api.call('POST', '/v1/recovery/password', { body: { login: 'h\u{1F600}lder@customer.test' } });
    assert.equal(res.status, 202, res.text);
  });
});
