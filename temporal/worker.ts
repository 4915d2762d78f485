import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type ActivityInterceptorsFactory,
  type WorkflowBundleOption,
  type WorkerDeploymentOptions,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { Activities } from '../activities';
import { failureConverterPath } from './dataConverter';
import { requestIdActivityInterceptors, workflowInterceptorModules } from './requestIds';
import { tracingActivityInterceptors, tracingSinks, tracingWorkflowModule, type Tracing } from './tracing';

export const workflowsPath = require.resolve('../workflows');

/** A worker asked to stop drains within these (`npm run fleet` waits for them before it kills). */
export const WORKER_SHUTDOWN_GRACE_MS = 10_000;
export const WORKER_SHUTDOWN_FORCE_MS = 15_000;

/** Bundling takes seconds: tests do it once and hand the bundle to every worker. */
export function bundleWorkflows(path: string = workflowsPath): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: path, workflowInterceptorModules, failureConverterPath, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (msg: string, meta?: Record<string, unknown>) => console.error(msg, meta ?? ''),
};

export async function createWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  dataConverter: DataConverter;
  /** A bundle made once (tests; `WORKFLOW_BUNDLE_PATH` for workers restarted often), else bundled now. */
  workflowBundle?: WorkflowBundleOption;
  /** 0 turns sticky execution off: every task may go to any worker (used to test restarts). */
  maxCachedWorkflows?: number;
  /** The metrics' failure counter (temporal/workerMetrics.ts). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /** Traces workflows and activities (temporal/tracing.ts); the workflows are then bundled here, with its interceptors. */
  tracing?: Tracing;
  /** The worker's deployment version (temporal/deployments.ts); unversioned without. */
  deployment?: WorkerDeploymentOptions;
}): Promise<Worker> {
  const bundle = opts.tracing ? undefined : opts.workflowBundle;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    dataConverter: opts.dataConverter,
    ...(bundle ? { workflowBundle: bundle } : { workflowsPath }),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    // A bundle made by bundleWorkflows already holds the workflow interceptors; one made here gets them now.
    interceptors: {
      activity: [requestIdActivityInterceptors, ...(opts.tracing ? [tracingActivityInterceptors] : []), ...(opts.activityInterceptors ?? [])],
      ...(bundle ? {} : { workflowModules: [...workflowInterceptorModules, ...(opts.tracing ? [tracingWorkflowModule] : [])] }),
    },
    ...(opts.tracing ? { sinks: tracingSinks(opts.tracing) } : {}),
    ...(opts.deployment ? { workerDeploymentOptions: opts.deployment } : {}),
    // Let in-flight activities finish on Ctrl-C / SIGTERM before the worker exits; after the grace
    // time they are cancelled (the attempt fails; Temporal retries it by its policy, on a live worker), and
    // one that ignores the cancellation no longer holds the process: the worker gives up at the force time.
    shutdownGraceTime: WORKER_SHUTDOWN_GRACE_MS,
    shutdownForceTime: WORKER_SHUTDOWN_FORCE_MS,
  });
}
