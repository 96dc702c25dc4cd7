import type { Tracer } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { Config } from '../config.js';

/**
 * Tracing for one process, or undefined when it is off. Only types are imported here: the
 * OpenTelemetry SDK is loaded by startTracing when tracing is configured, so a process that
 * does not trace never loads it.
 */
export interface Tracing {
  serviceName: string;
  /** Where spans go: the OTLP/HTTP traces URL. */
  endpoint: string;
  tracer: Tracer;
  /** fetch with a client span per request and the trace context in `traceparent`. */
  fetch: typeof fetch;
  /** For a Temporal Client: workflow start, signal, update and query carry the trace context. */
  clientInterceptors(): WorkflowClientInterceptor[];
  /** For a Worker: spans around activities (workflow spans come from the bundle's interceptor module). */
  workerInterceptors(): Pick<WorkerInterceptors, 'activity'>;
  /** The sink the workflow interceptors export their spans through. */
  workflowSinks(): InjectedSinks<WorkflowSpanSinks>;
  /** Exports what is buffered, then stops; call once on shutdown. */
  shutdown(): Promise<void>;
}

/** The sinks interface of @temporalio/interceptors-opentelemetry's workflow span exporter. */
export type WorkflowSpanSinks = { exporter: OpenTelemetryWorkflowExporter };

const DEFAULT_ENDPOINT = 'http://localhost:4318';

/**
 * The OTLP/HTTP traces URL, or undefined when tracing is off: on when an OTLP endpoint is
 * set (the standard variables, the signal-specific one used as-is), or TRACING_ENABLED=true
 * (then the collector's default port on this machine); TRACING_ENABLED=false turns it off.
 */
export function tracesEndpoint(
  config: Pick<Config, 'TRACING_ENABLED' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>,
): string | undefined {
  if (config.TRACING_ENABLED === false) return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT ?? (config.TRACING_ENABLED ? DEFAULT_ENDPOINT : undefined);
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** Starts tracing for this process when the configuration asks for it; undefined otherwise. */
export async function startTracing(config: Config, serviceName: string): Promise<Tracing | undefined> {
  const endpoint = tracesEndpoint(config);
  if (endpoint === undefined) return undefined;
  const { createTracing } = await import('./otel.js');
  return createTracing({ endpoint, serviceName });
}

/**
 * For workers that do not trace: the workflow interceptor module is always in the bundle
 * (see workflow-modules.ts), and its spans need a sink; this one drops them.
 */
export function droppedWorkflowSpans(): InjectedSinks<WorkflowSpanSinks> {
  return { exporter: { export: { fn: () => undefined } } };
}
