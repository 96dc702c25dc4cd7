import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsOptions {
  /** Where this process records its metrics; default: a registry of its own. */
  registry?: Registry;
  /** What GET /metrics (ops listener) answers; default: this process's registry (cluster-metrics.ts: the whole cluster's). */
  scrape?: () => Promise<string>;
}

interface RequestMetrics {
  duration: Histogram<'method' | 'route' | 'status_code'>;
  inFlight: Gauge;
  unavailable: Counter<'reason'>;
}

/**
 * One set of instruments per registry, however many apps record into it: the public and the
 * ops app of one process share their registry, so /metrics tells both listeners' requests.
 */
const instruments = new WeakMap<Registry, RequestMetrics>();

function requestMetricsIn(registry: Registry): RequestMetrics {
  const known = instruments.get(registry);
  if (known) return known;
  collectDefaultMetrics({ register: registry });
  const made: RequestMetrics = {
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being answered now.',
      registers: [registry],
    }),
    unavailable: new Counter({
      name: 'http_unavailable_responses_total',
      help: '503 answers, by reason (the error code: temporal_unavailable, overloaded, shutting_down, timeout).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  instruments.set(registry, made);
  return made;
}

/**
 * Records this app's requests in the registry: durations by route pattern, requests in
 * flight, 503 answers by reason, and prom-client's process metrics.
 */
export function recordRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const { duration, inFlight, unavailable } = requestMetricsIn(registry);
  app.addHook('onRequest', async (_request, reply) => {
    inFlight.inc();
    // 'close' fires for every response, also one whose client went away before the answer.
    reply.raw.once('close', () => inFlight.dec());
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 503) unavailable.inc({ reason: errorCode(payload) });
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: one series per route, whatever ids clients send.
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
  });
}

/**
 * GET /metrics in Prometheus text: the ops app's (no API key; the ops listener is for a
 * scraper on a private network or this machine, never the public port).
 */
export function serveMetrics(app: FastifyInstance, registry: Registry, scrape: () => Promise<string> = () => registry.metrics()): void {
  app.get('/metrics', { schema: { hide: true }, config: { access: 'public' } }, async (_request, reply) => reply.type(registry.contentType).send(await scrape()));
}

/** The contract's error code of a serialized error body (errors.ts), or 'unknown'. */
function errorCode(payload: unknown): string {
  if (typeof payload !== 'string') return 'unknown';
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : 'unknown';
  } catch {
    return 'unknown';
  }
}
