import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { createDataConverter } from '../../temporal/dataConverter';
import { startApi } from '../support/api';
import { fixtureKeyring, seedOrganization } from '../support/fixtures';

const UI = 'http://127.0.0.1:8233';

// Issue 19, item 5: the codec endpoint the Temporal UI calls. A supervisor (or the system) reads a
// workflow input sealed by the production codec; anyone else is refused; every decode is audited.
describe('codec endpoint for the Temporal UI (issue 19, item 5)', function () {
  this.timeout(120_000);
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async function () {
    this.timeout(300_000);
    api = await startApi({ codecOrigins: [UI] });
  });
  after(async () => api?.stop());

  /** A workflow input as it is stored in Temporal: encrypted by the production data converter, in the protocol's JSON. */
  async function sealedInput(value: unknown) {
    const [codec] = createDataConverter(fixtureKeyring()).payloadCodecs!;
    const [sealed] = await codec!.encode([defaultPayloadConverter.toPayload(value)]);
    return {
      metadata: Object.fromEntries(Object.entries(sealed!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
      data: Buffer.from(sealed!.data!).toString('base64'),
    };
  }
  // As the UI 2.54 asks: its endpoint + /decode, with a query, the namespace in X-Namespace.
  const decodeAs = (token: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
    api.call('POST', '/codec/decode?preserveStorageRefs=true', { ...(token ? { token } : {}), body, headers: { 'x-namespace': 'default', ...headers } });
  const decodes = async () =>
    (await api.db.selectFrom('audit_log').selectAll().where('action', '=', 'temporal.payloads_decoded').orderBy('at').orderBy('id').execute()).map((r) => ({
      actor: `${r.actor_type}:${r.actor_id}`,
      namespace: `${r.subject_type}:${r.subject_id}`,
      decision: r.decision,
      details: r.details,
    }));

  it('decodes for a supervisor and the system, refuses everyone else, and audits each decode without its contents', async () => {
    const seed = await seedOrganization(api.db);
    const supervisor = { id: randomUUID(), email: `lead-${seed.org.id.slice(0, 8)}@support.test`, display_name: 'Lead', is_supervisor: true };
    await api.db.insertInto('agents').values(supervisor).execute();
    const payload = await sealedInput({ recoveryEmail: 'alice@example.test' });
    assert.ok(!Buffer.from(payload.data, 'base64').toString('latin1').includes('alice@example.test'), 'sealed');
    const before = (await decodes()).length;

    for (const token of [await api.token('system', 'ops'), await api.token('agent', supervisor.id)]) {
      const res = await decodeAs(token, { payloads: [payload] });
      assert.equal(res.status, 200, res.text);
      const plain = JSON.parse(Buffer.from(res.json.payloads[0].data, 'base64').toString('utf8'));
      assert.deepEqual(plain, { recoveryEmail: 'alice@example.test' });
    }
    for (const token of [await api.token('agent', seed.agent.id), await api.token('customer', seed.legalRep.id)]) {
      const res = await decodeAs(token, { payloads: [payload] });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.json.type, '/problems/supervisor-required');
    }
    assert.equal((await decodeAs(undefined, { payloads: [payload] })).status, 401);
    assert.equal((await decodeAs(await api.token('system', 'ops'), { payloads: 'x' })).json.type, '/problems/validation-failed');

    // Who, the namespace, how many, never the contents; the refusals of authenticated callers too.
    const audited = (await decodes()).slice(before);
    assert.deepEqual(audited, [
      { actor: 'system:ops', namespace: 'namespace:default', decision: 'allowed', details: { count: 1 } },
      { actor: `agent:${supervisor.id}`, namespace: 'namespace:default', decision: 'allowed', details: { count: 1 } },
      { actor: `agent:${seed.agent.id}`, namespace: 'namespace:default', decision: 'denied', details: {} },
      { actor: `customer:${seed.legalRep.id}`, namespace: 'namespace:default', decision: 'denied', details: {} },
    ]);
    assert.ok(!JSON.stringify(audited).includes('alice'), 'never the contents');

    // Encoding (the UI's "encode" for its own inputs) takes the same rights and gives the codec's format.
    const encoded = await api.call('POST', '/codec/encode', {
      token: await api.token('agent', supervisor.id),
      body: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"a":1}').toString('base64') }] },
    });
    assert.equal(encoded.status, 200, encoded.text);
    const roundTrip = await decodeAs(await api.token('system', 'ops'), encoded.json);
    assert.equal(Buffer.from(roundTrip.json.payloads[0].data, 'base64').toString('utf8'), '{"a":1}');
  });

  it('lets the UI’s origin call with credentials, and a supervisor’s cookie stand in for the token', async () => {
    const preflight = await fetch(`${api.base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
    const foreign = await fetch(`${api.base}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);

    const seed = await seedOrganization(api.db);
    const supervisor = { id: randomUUID(), email: `lead2-${seed.org.id.slice(0, 8)}@support.test`, display_name: 'Lead', is_supervisor: true };
    await api.db.insertInto('agents').values(supervisor).execute();
    assert.equal((await api.call('POST', '/codec/session', { token: await api.token('agent', seed.agent.id) })).status, 403, 'not for a plain agent');
    const session = await api.call('POST', '/codec/session', { token: await api.token('agent', supervisor.id) });
    assert.equal(session.status, 204);
    const cookie = /codec_session=[^;]+/.exec(session.headers.get('set-cookie') ?? '')![0];
    assert.match(session.headers.get('set-cookie') ?? '', /HttpOnly/i);
    const res = await decodeAs(undefined, { payloads: [await sealedInput({ step: 'review' })] }, { cookie, origin: UI });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
  });
});
