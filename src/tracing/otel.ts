import { context, propagation, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { Tracing } from './types.js';

// The OpenTelemetry SDK itself: only ever loaded by startTracing (a dynamic import), so a
// process that does not trace pays nothing for it.

export function createTracing({ endpoint, serviceName }: { endpoint: string; serviceName: string }): Tracing {
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName });
  // OTLP/HTTP with JSON bodies: Jaeger, Tempo and the OpenTelemetry Collector all take it on 4318.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The context manager (AsyncLocalStorage) and the W3C propagator are process-wide; the
  // tracer is passed explicitly everywhere, so two providers in one process (tests) keep
  // their own service names.
  provider.register();
  const tracer = provider.getTracer('automation-orchestrator');
  return {
    serviceName,
    endpoint,
    tracer,
    fetch: tracedFetch(tracer),
    clientInterceptors: () => [new OpenTelemetryWorkflowClientInterceptor({ tracer })],
    workerInterceptors: () => ({
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    }),
    workflowSinks: () => ({ exporter: makeWorkflowExporter(processor, resource) }),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * fetch with a client span (method, URL without its query, server, status) that is a child
 * of the active span (the activity's), and the trace context sent on in `traceparent`.
 */
function tracedFetch(tracer: Tracer): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    return tracer.startActiveSpan(
      method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_FULL]: `${url.origin}${url.pathname}`,
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        },
      },
      async (span) => {
        const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        propagation.inject(context.active(), headers, {
          set: (carrier, key, value) => carrier.set(key, value),
        });
        try {
          const response = await fetch(input, { ...init, headers });
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
          if (response.status >= 400) {
            span.setAttribute(ATTR_ERROR_TYPE, String(response.status));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          return response;
        } catch (err) {
          span.setAttribute(ATTR_ERROR_TYPE, (err as Error).name);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
}
