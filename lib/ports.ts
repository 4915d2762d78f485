/**
 * Free ports for the servers this project starts itself (tests, the fleet, Temporal's own ports).
 * Picked below the kernel's ephemeral range: between the check and the server's own bind, an
 * outgoing connection of any process could take an ephemeral port as its local port (it did in CI:
 * EADDRINUSE on a port picked with listen(0)). Below that range only an explicit listener can.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The port bound, or undefined when it is taken; 0 lets the system choose. */
export const bindable = (port: number, host = '127.0.0.1') =>
  new Promise<number | undefined>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });

/** The lowest port the kernel hands out for outgoing connections and `listen(0)`. */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768; // not Linux: the IANA range starts at 49152, so this stays below it too
  }
})();
const handedOut = new Set<number>();

/** A port free now, below the ephemeral range, never the same twice in one process. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const from = Math.min(20_000, EPHEMERAL_LOW - 1000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = from + Math.floor(Math.random() * (EPHEMERAL_LOW - from));
    if (handedOut.has(port) || (await bindable(port, host)) === undefined) continue;
    handedOut.add(port);
    return port;
  }
  return (await bindable(0, host))!;
}
