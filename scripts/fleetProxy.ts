/**
 * The small local proxy of `npm run fleet` (issue 21, item 3): round robin over the API replicas,
 * the client's address passed in X-Forwarded-For (the replicas trust it from 127.0.0.1 only,
 * TRUSTED_PROXIES), and each answer names the replica that served it (X-Backoffice-Replica). A
 * replica that refuses the connection (stopping, or stopped) is skipped for the next one.
 */
import http from 'node:http';

export async function startFleetProxy(opts: { host: string; port: number; upstreams: number[] }): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const payload = Buffer.concat(body);
      const tryUpstream = (attempt: number) => {
        const index = next++ % opts.upstreams.length;
        const forwarded = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
        const upstream = http.request(
          { host: '127.0.0.1', port: opts.upstreams[index], method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': forwarded } },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-backoffice-replica': String(index + 1) });
            answer.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (attempt + 1 < opts.upstreams.length) return tryUpstream(attempt + 1);
          res
            .writeHead(502, { 'content-type': 'application/problem+json' })
            .end(JSON.stringify({ type: '/problems/unavailable', title: 'No API replica answered', status: 502 }));
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
