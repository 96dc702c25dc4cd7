import type { InjectedSinks } from '@temporalio/worker';
import type { Config } from '../config.js';
import type { Tracing, WorkflowSpanSinks } from './types.js';

export type { Tracing, WorkflowSpanSinks } from './types.js';

// Only types are imported here: the OpenTelemetry SDK (otel.ts) is loaded by startTracing
// when tracing is configured, so a process that does not trace never loads it.

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
 * (see src/temporal/workflow-modules.ts), and its spans need a sink; this one drops them.
 */
export function droppedWorkflowSpans(): InjectedSinks<WorkflowSpanSinks> {
  return { exporter: { export: { fn: () => undefined } } };
}
