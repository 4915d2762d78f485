/**
 * The small local proxy of `npm run fleet` (issue 21, item 3): round robin over the API replicas,
 * the client's address appended to X-Forwarded-For (the replicas trust it from 127.0.0.1 only,
 * TRUSTED_PROXIES), and each answer names the replica that served it (X-Backoffice-Replica).
 *
 * A replica that refuses the connection (draining, or stopped) is skipped for the next one: nothing
 * reached it, so retrying is safe even for a POST. Any other failure (the replica died mid-request)
 * answers 502 rather than sending the request twice. Every request opens its own connection to the
 * replica, so a draining replica is never handed a request on a kept-alive socket it is closing.
 */
import http from 'node:http';

/** Hop-by-hop headers (RFC 9110, 7.6.1) are the proxy's own business, on either side. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase());
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name) && !named.includes(name)));
}

export interface FleetProxy {
  url: string;
  /** Stops accepting, lets the requests in flight finish (cut after forceAfterMs), then resolves. */
  close(forceAfterMs?: number): Promise<void>;
}

export async function startFleetProxy(opts: { host: string; port: number; upstreams: number[] }): Promise<FleetProxy> {
  let next = 0;
  let closing = false;
  const problem = (res: http.ServerResponse, status: number, title: string) =>
    res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: '/problems/unavailable', title, status }));

  const server = http.createServer((req, res) => {
    // Once draining, a connection is not kept for another request: closed as soon as it is idle.
    res.on('finish', () => closing && setImmediate(() => server.closeIdleConnections()));
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const payload = Buffer.concat(body);
      const forwarded = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
      const tryUpstream = (attempt: number) => {
        const index = next++ % opts.upstreams.length;
        const upstream = http.request(
          {
            host: '127.0.0.1',
            port: opts.upstreams[index],
            method: req.method,
            path: req.url,
            headers: { ...endToEnd(req.headers), 'x-forwarded-for': forwarded, 'content-length': payload.length },
            agent: false,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, { ...endToEnd(answer.headers), 'x-backoffice-replica': String(index + 1) });
            answer.pipe(res);
            answer.on('error', () => res.destroy());
          },
        );
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          if (res.headersSent) return void res.destroy();
          if (err.code === 'ECONNREFUSED' && attempt + 1 < opts.upstreams.length) return tryUpstream(attempt + 1);
          problem(res, 502, err.code === 'ECONNREFUSED' ? 'No API replica accepts requests' : 'The API replica failed to answer');
        });
        upstream.end(payload);
      };
      tryUpstream(0);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    url: `http://${opts.host}:${opts.port}`,
    close: (forceAfterMs = 30_000) =>
      new Promise<void>((resolve) => {
        closing = true;
        const force = setTimeout(() => server.closeAllConnections(), forceAfterMs);
        server.close(() => (clearTimeout(force), resolve()));
        // Idle kept-alive connections would hold close() open; busy ones close after their answer.
        server.closeIdleConnections();
      }),
  };
}
