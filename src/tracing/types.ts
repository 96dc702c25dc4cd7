import type { Tracer } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';

// The shape of tracing, apart from both its starter (tracing.ts) and the SDK behind it
// (otel.ts), so neither has to import the other's module for it.

/** Tracing for one process (startTracing answers undefined when it is off). */
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
