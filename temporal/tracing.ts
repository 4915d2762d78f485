/**
 * Traces (issue 19, item 3): OpenTelemetry from the HTTP request through the workflow start to the
 * workflow and its activities, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set and
 * off otherwise (no provider: every span is a no-op). Temporal's interceptors carry the context in
 * workflow and activity headers; the workflow's spans leave the sandbox through a sink.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';

export interface Tracing {
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Sends what is buffered, then stops; the global provider is removed. */
  shutdown(): Promise<void>;
}

/** Installs the global tracer provider when an endpoint is given (OTEL_EXPORTER_OTLP_ENDPOINT); undefined otherwise. */
export function startTracing(opts: { endpoint: string | undefined; serviceName: string }): Tracing | undefined {
  if (!opts.endpoint) return undefined;
  const resource = new Resource({ 'service.name': opts.serviceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` }), {
    scheduledDelayMillis: 1000,
  });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    spanProcessor,
    resource,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The workflow interceptors module of the tracing; bundled with the workflows when tracing is on. */
export const tracingWorkflowModule = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export const tracingClientInterceptor = (): WorkflowClientInterceptor => new OpenTelemetryWorkflowClientInterceptor();

export const tracingActivityInterceptors: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
  outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
});

export const tracingSinks = (t: Tracing): InjectedSinks<Record<string, never>> =>
  ({ exporter: makeWorkflowExporter(t.spanProcessor, t.resource) }) as unknown as InjectedSinks<Record<string, never>>;
