/**
 * `npm run bench -- --placement split`: Temporal gets CPUs of its own, as production gives it machines of its own
 * (docker-compose.yml: its own server and its own PostgreSQL). The Temporal server and the
 * PostgreSQL backends of its two databases run on the first half of the CPUs; this process (API,
 * worker, bench client) and the backends of the application's database on the other half. On a
 * shared box a ratio of throughputs is a ratio of CPU costs; split, it says whether the API keeps
 * up with what Temporal can start. PostgreSQL's own helpers (WAL writer, checkpointer) stay free.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_DATABASES } from '../temporal/postgresServer';

const TEMPORAL_DBS = new Set<string>(Object.values(TEMPORAL_DATABASES));

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

/** `temporal` for Temporal's server and its database backends, `app` for ours, else undefined. */
function sideOf(pid: number, self: number): 'temporal' | 'app' | undefined {
  if (pid === self) return 'app';
  const argv = read(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean);
  if (!argv?.length) return undefined;
  // A PostgreSQL backend's title: "postgres: <user> <database> <client> <state>".
  const title = /^postgres: \S+ (\S+) (\[local\]|\S+\(\d+\))/.exec(argv.join(' '));
  if (title) return TEMPORAL_DBS.has(title[1]!) ? 'temporal' : 'app';
  const ppid = Number(read(`/proc/${pid}/stat`)?.split(') ')[1]?.split(' ')[1]);
  // The servers this process started: the CLI's dev server (`temporal`) or the built one (`server`).
  if (ppid === self && ['temporal', 'server'].includes(path.basename(argv[0]!))) return 'temporal';
  return undefined;
}

/** Starts pinning (new backends too, checked every 500 ms); the returned function stops it. */
export function splitPlacement(): { stop: () => void; cpus: { temporal: string; app: string } } {
  const n = os.cpus().length;
  if (n < 2) throw new Error('--placement split needs two CPUs at least');
  const half = Math.floor(n / 2);
  const cpus = { temporal: `0-${half - 1}`, app: `${half}-${n - 1}` };
  const pinned = new Set<string>();
  const pin = () => {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      // pid and start time: a pid may be reused by a later backend.
      const key = `${pid}:${read(`/proc/${pid}/stat`)?.split(') ')[1]?.split(' ')[19]}`;
      if (pinned.has(key)) continue;
      const side = sideOf(pid, process.pid);
      if (!side) continue;
      try {
        // -a: every thread, so the gRPC and Rust threads of this process move too.
        execFileSync('taskset', ['-a', '-c', '-p', cpus[side], String(pid)], { stdio: 'ignore' });
        pinned.add(key);
      } catch {
        // Gone before it could be pinned.
      }
    }
  };
  pin();
  const timer = setInterval(pin, 500);
  timer.unref();
  return { stop: () => clearInterval(timer), cpus };
}
