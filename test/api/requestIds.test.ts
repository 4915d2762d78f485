import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { createLogger } from '../../lib/logger';
import { supportAccessWorkflowId } from '../../workflows/shared/supportAccess';
import { startApi } from '../support/api';
import { seedOrganization } from '../support/fixtures';
import { eventually } from '../support/recovery';

/** Every JSON line a logger writes. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

// Issue 19, item 4: pino with request ids carried from the API into the workflow and its
// activities, and personal fields redacted by path.
describe('request ids and the logger (pino)', function () {
  this.timeout(120_000);
  const logs = capture();
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async function () {
    this.timeout(300_000);
    api = await startApi({ log: createLogger('info', {}, logs.stream) });
  });
  after(async () => api?.stop());

  it('answers X-Request-Id, logs the request with it, and carries it in the Temporal headers of the workflow, and a later request’s id in those of the activities it causes', async () => {
    const seed = await seedOrganization(api.db);
    const token = await api.token('customer', seed.legalRep.id);
    const requestId = 'req-0123456789abcdef';
    const res = await api.call('POST', '/v1/support-access-grants', {
      token,
      headers: { 'x-request-id': requestId },
      body: { organizationId: seed.org.id, ticketId: seed.ticket.id, kind: 'mail', resourceIds: ['info@example.test'] },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('x-request-id'), requestId);
    await eventually(
      async () => logs.lines.find((l) => l.msg === 'request' && l.requestId === requestId && l.route === '/v1/support-access-grants'),
      'the request line',
    );

    const handle = api.client.workflow.getHandle(supportAccessWorkflowId(res.json.id));
    const headerOf = (h: { fields?: Record<string, { data?: Uint8Array | null } | null> | null } | null | undefined) => {
      const data = h?.fields?.['request-id']?.data;
      return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string) : undefined;
    };
    // The revocation is another request: what the workflow does for it carries that request's id.
    const revocationId = 'req-fedcba9876543210';
    const revoked = await api.call('DELETE', `/v1/support-access-grants/${res.json.id}`, { token, headers: { 'x-request-id': revocationId } });
    assert.equal(revoked.status, 200, revoked.text);
    const history = await eventually(async () => {
      const h = await handle.fetchHistory();
      return h.events?.some((e) => e.activityTaskScheduledEventAttributes) ? h : undefined;
    }, 'an activity scheduled');
    assert.equal(headerOf(history.events![0]!.workflowExecutionStartedEventAttributes!.header), requestId, 'the workflow got the id');
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes);
    assert.ok(scheduled.length > 0);
    for (const e of scheduled) assert.equal(headerOf(e.activityTaskScheduledEventAttributes!.header), revocationId, 'each activity gets it');
  });

  it('makes up an id when the caller sends none or one that is not an id', async () => {
    const none = await api.call('GET', '/health');
    const junk = await api.call('GET', '/health', { headers: { 'x-request-id': 'alice@example.test' } });
    for (const res of [none, junk]) assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(none.headers.get('x-request-id'), junk.headers.get('x-request-id'));
  });

  it('redacts personal fields by path, at the top level and one object down', () => {
    const out = capture();
    const log = createLogger('info', {}, out.stream);
    log.info('something happened', { email: 'alice@example.test', account: { phone: '+41790000001', id: 'a-1' }, grantId: 'g-1' });
    const line = out.lines[0]!;
    assert.equal(line.email, '[redacted]');
    assert.deepEqual(line.account, { phone: '[redacted]', id: 'a-1' });
    assert.equal(line.grantId, 'g-1');
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'something happened');
  });
});
