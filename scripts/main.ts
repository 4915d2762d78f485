/** Shared by the entry points: load config (exit 2 naming the variable), start, stop on signals. */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startStack, type Stack } from './stack';

export async function main(roles: { api: boolean; worker: boolean }, banner: (stack: Stack) => void): Promise<void> {
  if (process.stdin.isTTY && !process.env[RELAYED] && process.platform !== 'win32') return relayFromTerminal();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL);
  // The SDK's own metrics (task latencies, slots, polls) come from its Rust core, served on a
  // loopback port and appended to the worker's /metrics; the runtime is installed once per process.
  const sdkMetrics =
    roles.worker && config.WORKER_METRICS_PORT !== 0 && config.TEMPORAL_METRICS_PORT !== 0 ? `127.0.0.1:${config.TEMPORAL_METRICS_PORT}` : undefined;
  // The SDK narrates every worker state change and the webpack build at INFO: keep its warnings.
  // Its lines (workflow and activity logs with their request id among them) go through our logger.
  const sdkLevel = config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN';
  const forward = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (entry) => log[forward[entry.level]](entry.message, { sdk: true, ...(entry.meta as Record<string, unknown>) })),
    ...(sdkMetrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetrics } } } } : {}),
  });
  const stack = await startStack({ config, log, roles, processMetrics: true, sdkMetricsUrl: sdkMetrics && `http://${sdkMetrics}/metrics` });
  banner(stack);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    stack.stop().then(
      () => process.exit(0),
      (err: Error) => (log.error('shutdown failed', { error: err.message }), process.exit(1)),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  if (process.env[RELAYED] && process.connected) {
    // The relaying process is gone (killed, its terminal closed): stop as on a signal.
    process.on('disconnect', () => shutdown('relay gone'));
    process.channel?.unref();
  }
}

const RELAYED = 'BACKOFFICE_RELAYED_FROM_TERMINAL';

/**
 * Ctrl-C in a terminal signals its whole foreground process group: the embedded PostgreSQL and
 * Temporal server stopped at once, under the requests and activities being drained, which then
 * failed on a terminated connection. From a terminal, the stack runs in a process group of its own
 * (with everything it spawns) and this process relays the signals to it, so it stops in order.
 */
function relayFromTerminal(): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [RELAYED]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((_resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}
