/** Shared by the entry points: load config (exit 2 naming the variable), start, stop on signals. */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { startStack, type Stack } from './stack';

export async function main(roles: { api: boolean; worker: boolean }, banner: (stack: Stack) => void): Promise<void> {
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
}
