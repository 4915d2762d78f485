/**
 * `npm run fleet` (issue 21, items 3 and 5): the back office as a fleet on one machine. The embedded
 * servers (Temporal, PostgreSQL, the SMTP and SMS peers) start here, as `npm start` starts them
 * (scripts/stack.ts, with neither role); 2 API replicas and 2 workers run as child processes
 * (`scripts/api.ts`, `scripts/worker.ts`) against them, and a small proxy on PORT spreads requests
 * over the replicas (scripts/fleetProxy.ts). Limits hold across replicas (they live in PostgreSQL).
 *
 * Ctrl-C (or SIGTERM) drains, in order: the proxy stops accepting and finishes what it forwards, the
 * workers finish or hand back their in-flight activities within their grace time, each API replica
 * stops accepting and finishes its requests, and only then do the servers stop. Whatever has not
 * exited after the drain time is killed.
 *
 * A terminal's Ctrl-C signals its whole process group, embedded PostgreSQL and Temporal included,
 * which would stop under the draining replicas. So this entry point only launches: the fleet
 * (scripts/fleetRun.ts) runs in a process group of its own, told to stop by the launcher (SIGTERM)
 * or when the launcher is gone.
 *
 * One replica or worker stopping alone (SIGTERM to its pid, as a rolling restart does) drains it and
 * leaves the rest running; the proxy sends requests to the replicas that still accept them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

// The fleet itself (scripts/fleetRun.ts) in a process group of its own, with an IPC channel whose
// end tells it the launcher is gone. SIGINT or SIGTERM here is passed on once (a terminal's Ctrl-C
// may come twice: from the terminal and from tsx, which relays it).
const fleet = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fleetRun.ts')], {
  env: process.env,
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
let signalled = false;
const forward = (signal: NodeJS.Signals) => {
  if (signalled) return;
  signalled = true;
  fleet.kill(signal);
};
process.on('SIGINT', () => forward('SIGINT'));
process.on('SIGTERM', () => forward('SIGTERM'));
fleet.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
