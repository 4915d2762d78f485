import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { startTracing, type Tracing } from '../../temporal/tracing';
import { startApi } from '../support/api';
import { eventually, holder, login, PASSWORD } from '../support/recovery';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

/** A collector that speaks OTLP/HTTP (JSON) and keeps every span it is sent. */
async function otlpReceiver() {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, spans, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

// Issue 19, item 3: one trace from the HTTP request through the workflow start to the workflow and
// its activity, exported over OTLP to a collector, when OTEL_EXPORTER_OTLP_ENDPOINT is set.
describe('traces over OTLP (OpenTelemetry)', function () {
  this.timeout(180_000);
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let tracing: Tracing;
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async function () {
    this.timeout(300_000);
    receiver = await otlpReceiver();
    tracing = startTracing({ endpoint: receiver.url, serviceName: 'backoffice-test' })!;
    api = await startApi({ tracing });
  });
  after(async () => {
    await api?.stop();
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('is off without an endpoint', () => {
    assert.equal(startTracing({ endpoint: undefined, serviceName: 'x' }), undefined);
  });

  it('follows a password change from its HTTP request to the notice workflow and the activity that emails it, in one trace', async () => {
    const h = await holder(api.db);
    const token = (await login(api, h.login_email)).json.token as string;
    const changed = await api.call('PUT', '/v1/accounts/me/password', { token, body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } });
    assert.equal(changed.status, 200, changed.text);

    const chain = await eventually(
      async () => {
        await tracing.spanProcessor.forceFlush();
        const http = receiver.spans.find((s) => s.name === 'PUT /v1/accounts/me/password');
        if (!http) return undefined;
        const inTrace = receiver.spans.filter((s) => s.traceId === http.traceId);
        const named = (prefix: string) => inTrace.find((s) => s.name.startsWith(prefix));
        const start = named('StartWorkflow:accountNotice');
        const run = named('RunWorkflow:accountNotice');
        const activity = named('RunActivity:sendAccountNotice');
        return start && run && activity ? { http, start, run, activity, inTrace } : undefined;
      },
      'the spans of the request, the workflow and the activity',
      60_000,
    );

    assert.equal(chain.start.parentSpanId, chain.http.spanId, 'the start is a child of the request');
    const ids = new Set(chain.inTrace.map((s) => s.spanId));
    assert.ok(chain.run.parentSpanId && ids.has(chain.run.parentSpanId), 'the workflow run hangs in the same trace');
    assert.ok(chain.activity.parentSpanId && ids.has(chain.activity.parentSpanId), 'so does the activity');
    assert.ok(!chain.inTrace.some((s) => s.name.includes(h.login_email)), 'no address in a span name');
  });
});
