import { createServer, connect, type Socket } from 'node:net';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDataConverter } from '../../temporal/dataConverter';
import { fixtureKeyring } from './fixtures';

/**
 * A TCP relay in front of the shared Temporal dev server, so one client can lose Temporal while the
 * server, the worker and every other suite keep it: `cut()` drops every connection and refuses new
 * ones until `restore()`.
 */
export async function temporalProxy(env: TestWorkflowEnvironment) {
  const [host, port] = [env.address.slice(0, env.address.lastIndexOf(':')), Number(env.address.slice(env.address.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((inbound) => {
    if (!open) return inbound.destroy();
    const outbound = connect(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const connection = await Connection.connect({
    address,
    // Three tries instead of ten: an unreachable Temporal fails the request in under a second.
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 }))],
  });
  return {
    /** A client with the production data converter that reaches Temporal only through the relay. */
    client: new Client({ connection, namespace: env.namespace ?? 'default', dataConverter: createDataConverter(fixtureKeyring()) }),
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    async close() {
      this.cut();
      await connection.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
