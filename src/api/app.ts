import { randomUUID, timingSafeEqual } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyUnderPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError, mapError, OverloadedError, RateLimitedError, ShuttingDownError } from './errors.js';
import type { LeadService } from './lead-service.js';
import { healthRoutes } from './routes/health.js';
import { leadRoutes } from './routes/leads.js';
import { automationRoutes } from './routes/automations.js';
import type { AutomationService } from './automation-service.js';
import { taskRoutes } from './routes/tasks.js';

declare module 'fastify' {
  interface FastifyInstance {
    leads: LeadService;
  }
}

/** Load shedding: past any threshold every request but GET /health gets 503 + Retry-After. 0 = not checked. */
export interface OverloadOptions {
  /** Mean event-loop delay over one sample interval. */
  maxEventLoopDelayMs?: number;
  maxHeapUsedBytes?: number;
  maxRssBytes?: number;
  /** How often the process is measured; default 1000 ms. */
  sampleIntervalMs?: number;
  retryAfterSeconds?: number;
}

export interface TimeoutOptions {
  /** Time to receive a whole request, headers and body (slow clients); Node's server.requestTimeout. */
  requestTimeoutMs?: number;
  /** Idle socket timeout; Node's server.timeout. 0 = none. */
  connectionTimeoutMs?: number;
  /** Backstop: a request not answered by then gets 503 + Retry-After. */
  handlerTimeoutMs?: number;
}

export interface AppDeps {
  leads: LeadService;
  /** Automation definitions and runs; unset = no automation routes. */
  automations?: AutomationService;
  /** Bearer keys accepted on /api/*; empty means the API is open (loopback default). */
  apiKeys?: string[];
  bodyLimitBytes?: number;
  logger?: FastifyServerOptions['logger'];
  /** Requests per minute on /api/*, per API key (or per client IP when the API is open). 0 or unset = no limit. */
  rateLimitPerMinute?: number;
  /** Unset = no load shedding (tests); the server always passes the configured thresholds. */
  overload?: OverloadOptions;
  timeouts?: TimeoutOptions;
}

const DEFAULT_TIMEOUTS: Required<TimeoutOptions> = {
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  handlerTimeoutMs: 15_000,
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP app as a plain factory: server.ts listens with it, tests call `inject` on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const app = Fastify({
    logger: deps.logger ?? false,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionTimeout: timeouts.connectionTimeoutMs,
    handlerTimeout: timeouts.handlerTimeoutMs,
    // URL and routing errors raised before any route runs get the contract's error shape too.
    frameworkErrors: (error, request, reply) => {
      const mapped = mapError(error);
      mapped.body.error.request_id = request.id;
      void (reply as FastifyReply).code(mapped.status).header('x-request-id', request.id).headers(mapped.headers).send(mapped.body);
    },
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    // Fastify's own answer while closing is a bare 503; ours (below) says when to retry.
    return503OnClosing: false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // JSON only: a text/plain body is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  // Responses are built from typed values; validating them again would only cost CPU.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.decorate('leads', deps.leads);

  // From the moment close() starts, in-flight requests finish but new ones (arriving on a
  // kept-alive connection) are refused with Retry-After and the connection is closed.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) throw new ShuttingDownError();
  });
  // Every answer given while closing (in-flight requests and refusals alike) closes its
  // connection, so close() does not wait for the connection's keep-alive timeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  if (deps.overload) await registerLoadShedding(app, deps.overload);

  // Access control on /api/* (and on unknown routes, so they do not reveal what exists):
  // the rate limit first, so guessing keys is limited too, then the key itself.
  const keys = (deps.apiKeys ?? []).map((k) => Buffer.from(k));
  const limited = (deps.rateLimitPerMinute ?? 0) > 0;
  if (limited) await app.register(fastifyRateLimit, { global: false, max: deps.rateLimitPerMinute, timeWindow: 60_000 });
  const rateLimit = limited
    ? app.createRateLimit({
        // A valid key is its own bucket; requests without one share their client address's.
        keyGenerator: (request) => {
          const key = matchKey(keys, request);
          return key === undefined ? `ip:${request.ip}` : `key:${key}`;
        },
      })
    : undefined;
  if (keys.length > 0 || rateLimit) {
    app.addHook('onRequest', async (request, reply) => {
      // The matched route, not the raw URL: `/%61pi/leads` routes to /api/leads too.
      const route = request.routeOptions.url;
      if (route !== undefined && !route.startsWith('/api/')) return;
      if (rateLimit) {
        const verdict = await rateLimit(request);
        if (!verdict.isAllowed) {
          reply.header('x-ratelimit-limit', verdict.max);
          reply.header('x-ratelimit-remaining', verdict.remaining);
          reply.header('x-ratelimit-reset', verdict.ttlInSeconds);
          if (verdict.isExceeded) throw new RateLimitedError(Math.max(1, verdict.ttlInSeconds));
        }
      }
      if (keys.length > 0 && matchKey(keys, request) === undefined) {
        throw new HttpError(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>', [], {
          'www-authenticate': 'Bearer',
        });
      }
    });
  }

  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.status === 503) request.log.warn({ code: mapped.body.error.code, detail: (err as { detail?: string }).detail }, 'unavailable');
    else if (mapped.status >= 500) request.log.error({ err }, 'request failed');
    mapped.body.error.request_id = request.id;
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, issues: [], request_id: request.id },
    }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Automation Orchestrator API',
        version: '1.0.0',
        description: 'Leads in; durable processing, CRM sync and email out, orchestrated by Temporal.',
      },
      components: keys.length > 0 ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(leadRoutes);
  await app.register(taskRoutes);
  await app.register(automationRoutes, { service: deps.automations });
  return app;
}

const KEY_MATCH = Symbol('apiKeyMatch');
type WithKeyMatch = FastifyRequest & { [KEY_MATCH]?: number | null };

/** Index of the configured key the request presents (Authorization: Bearer), or undefined. Constant-time per key. */
function matchKey(keys: Buffer[], request: FastifyRequest): number | undefined {
  const memo = request as WithKeyMatch;
  if (memo[KEY_MATCH] !== undefined) return memo[KEY_MATCH] ?? undefined;
  const [scheme = '', token = ''] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  const presented = Buffer.from(scheme.toLowerCase() === 'bearer' ? token : '');
  let found: number | null = null;
  // Every key is compared, so the time taken does not tell which one nearly matched.
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.length === presented.length && timingSafeEqual(k, presented) && found === null) found = i;
  }
  memo[KEY_MATCH] = found;
  return found ?? undefined;
}

/**
 * Sheds load with @fastify/under-pressure: when the event loop lags or memory runs high,
 * answers 503 + Retry-After at once instead of queueing work the process cannot finish in
 * time. GET /health (liveness) still answers, so an overloaded process is not restarted.
 */
async function registerLoadShedding(app: FastifyInstance, options: OverloadOptions): Promise<void> {
  const retryAfter = options.retryAfterSeconds ?? 5;
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs ?? 0,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? 0,
    maxRssBytes: options.maxRssBytes ?? 0,
    sampleInterval: options.sampleIntervalMs ?? 1000,
    pressureHandler: async (request, _reply, type, value) => {
      if (request.routeOptions.url === '/health') return;
      request.log.warn({ pressure: type, value }, 'overloaded: shedding request');
      throw new OverloadedError(retryAfter);
    },
  });
}
