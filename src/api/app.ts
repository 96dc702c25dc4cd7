import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Tracer } from '@opentelemetry/api';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { registerAccessControl } from './access-control.js';
import type { ApiKey } from '../api-keys.js';
import type { RateLimiter } from './rate-limit.js';
import { mapError, MethodNotAllowedError, RouteNotFoundError, ShuttingDownError, type MappedError } from './errors.js';
import { completeDocument, SECURITY_SCHEMES } from './openapi.js';
import { createRouteTable, type RouteTable } from './route-table.js';
import { registerLoadShedding, type OverloadOptions } from './load-shedding.js';
import { Registry } from 'prom-client';
import { recordRequestMetrics, serveMetrics, type MetricsOptions } from './metrics.js';
import type { LeadService } from '../leads/lead-service.js';
import { healthRoutes, readinessRoutes } from './routes/health.js';
import { leadRoutes } from './routes/leads.js';
import { leadBatchRoutes } from './routes/lead-batch.js';
import { leadRedriveRoutes } from './routes/lead-redrive.js';
import { automationRoutes } from './routes/automations.js';
import { automationRunRoutes } from './routes/automation-runs.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { emailEventRoutes, type EmailEventsOptions } from './routes/email-events.js';
import { crmWebhookRoutes, type CrmWebhookOptions } from './routes/crm-webhooks.js';
import { codecRoutes, registerCodecCors } from './routes/codec.js';
import type { PayloadCodec } from '@temporalio/common';
import type { AutomationService } from '../automations/service.js';
import { taskRoutes } from './routes/tasks.js';
import { statsRoutes } from './routes/stats.js';
import { consoleRoutes, type ConsoleOptions } from './routes/console.js';
import { taskEventRoutes } from './routes/task-events.js';
import type { StatsService } from '../leads/stats.js';
import { DEFAULT_TASK_EVENT_OPTIONS, TaskEventStreams, type TaskEventOptions } from './task-events.js';

export type { OverloadOptions } from './load-shedding.js';
export type { MetricsOptions } from './metrics.js';
export type { ConsoleOptions } from './routes/console.js';
export type { TaskEventOptions } from './task-events.js';
export type { EmailEventsOptions } from './routes/email-events.js';

declare module 'fastify' {
  interface FastifyInstance {
    leads: LeadService;
    /** Every route this app serves and its methods (the 405 answers read it; tests enumerate it). */
    routeTable: RouteTable;
    /** This process's live task streams (GET /api/tasks/:id/events); the public app only. */
    taskEvents: TaskEventStreams;
  }
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
  /** GET /api/stats (task-queue backlog, leads by CRM status); unset = no such route. */
  stats?: StatsService;
  /** The status page at /console on the ops listener (its shell holds no data; its data comes from /api/*); unset = no page. */
  console?: ConsoleOptions;
  /** The API keys, parsed once for both listeners (apiKeysOf in config.ts); none means the API is open (loopback default). */
  apiKeys?: readonly ApiKey[];
  bodyLimitBytes?: number;
  logger?: FastifyServerOptions['logger'];
  /**
   * The rate limit on /api/*, per API key (or per client IP when the API is open): this
   * process's tokenBuckets(RATE_LIMIT_PER_MINUTE), or the cluster primary's buckets. One
   * limiter for both listeners, so the ops port is no second allowance. Unset = no limit.
   */
  rateLimiter?: RateLimiter;
  /** Unset = no load shedding (tests); the server always passes the configured thresholds. */
  overload?: OverloadOptions;
  timeouts?: TimeoutOptions;
  /**
   * Request metrics, served at GET /metrics on the ops listener. Pass the same registry to
   * buildApp and buildOpsApp so the ops listener reports the public one's requests too.
   * Default: a registry of the app's own; false = none.
   */
  metrics?: MetricsOptions | false;
  /** The payload codec served at /codec/decode and /codec/encode on the ops listener (for the Web UI); unset = no codec routes. */
  codec?: PayloadCodec | undefined;
  /** Origins allowed to call the codec routes from a browser (the Temporal Web UI's). */
  codecCorsOrigins?: readonly string[];
  /** A server span per request (src/api/request-tracing.ts); unset = tracing off, nothing of OpenTelemetry loaded. */
  tracer?: Tracer;
  /** Peers (addresses/CIDRs) whose `traceparent` a request's span continues; default loopback only. */
  traceParentFrom?: readonly string[];
  /** Fastify's trustProxy (TRUST_PROXY): which peers' X-Forwarded-* are believed; default none. */
  trustProxy?: boolean | string[];
  /** Live task streams: cap, maximum duration, poll and heartbeat intervals (defaults in task-events.ts). */
  taskEvents?: Partial<TaskEventOptions>;
  /** POST /webhooks/email-events; without a secret it answers 503. */
  emailEvents?: EmailEventsOptions;
  /** POST /webhooks/hubspot and /webhooks/crm: changes made in the CRM; without their keys they answer 503. */
  crmWebhooks?: CrmWebhookOptions;
}

const DEFAULT_TIMEOUTS: Required<TimeoutOptions> = {
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  handlerTimeoutMs: 15_000,
};

const DEFAULT_TRACE_PARENT_FROM = ['127.0.0.0/8', '::1'];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The public app as a plain factory: server.ts listens with it on PORT, tests call `inject` on
 * it. It serves the API (/api/*, keyed), /health, the docs, the unsubscribe page and the
 * signed inbound webhooks; the operators' endpoints are the ops app's (ops-app.ts).
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { app, registry, keyed } = await baseApp(deps);
  const taskEvents = new TaskEventStreams((taskId, signal) => deps.leads.taskUntil(taskId, signal), { ...DEFAULT_TASK_EVENT_OPTIONS, ...deps.taskEvents }, registry);
  app.decorate('taskEvents', taskEvents);
  // Open streams would hold close() until their tasks ended: end them as closing starts.
  app.addHook('preClose', async () => taskEvents.closeAll());
  await registerDocs(app, keyed);

  await app.register(healthRoutes);
  await app.register(leadRoutes);
  await app.register(leadBatchRoutes);
  await app.register(leadRedriveRoutes);
  await app.register(taskRoutes);
  await app.register(taskEventRoutes, { streams: taskEvents });
  await app.register(automationRoutes, { service: deps.automations });
  await app.register(automationRunRoutes, { service: deps.automations });
  await app.register(unsubscribeRoutes, { service: deps.automations });
  await app.register(emailEventRoutes, deps.emailEvents ?? {});
  await app.register(crmWebhookRoutes, deps.crmWebhooks ?? {});
  await app.register(statsRoutes, { service: deps.stats });
  return app;
}

/**
 * The ops app, for OPS_HOST:OPS_PORT (loopback by default): /metrics, /ready, /health, the
 * payload codec for the Temporal Web UI (keyed, with its CORS), and the status page with the
 * /api routes it reads and acts through (the same handlers and keys as the public app's), so
 * the page and its data share one origin and nothing is proxied.
 */
export async function buildOpsApp(deps: AppDeps): Promise<FastifyInstance> {
  const { app, registry } = await baseApp(deps, { codecCors: deps.codec !== undefined });
  if (registry) serveMetrics(app, registry, deps.metrics ? deps.metrics.scrape : undefined);
  await app.register(healthRoutes);
  await app.register(readinessRoutes);
  await app.register(codecRoutes, { codec: deps.codec });
  await app.register(consoleRoutes, { view: deps.console });
  // What the status page's script calls (console/client/): lists, re-drives, run actions, stats.
  await app.register(leadRoutes);
  await app.register(leadRedriveRoutes);
  await app.register(automationRunRoutes, { service: deps.automations });
  await app.register(statsRoutes, { service: deps.stats });
  return app;
}

/** What both apps share: request ids, tracing, request metrics, shutdown, load shedding, keys, error answers; `keyed`: keys are configured. */
async function baseApp(deps: AppDeps, { codecCors = false } = {}): Promise<{ app: FastifyInstance; registry: Registry | undefined; keyed: boolean }> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
  const app = Fastify({
    logger: deps.logger ?? false,
    // Unset, X-Forwarded-For is anyone's to write: request.ip (rate limits, logs) stays the peer's.
    trustProxy: deps.trustProxy ?? false,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionTimeout: timeouts.connectionTimeoutMs,
    handlerTimeout: timeouts.handlerTimeoutMs,
    // URL and routing errors raised before any route runs get the contract's error shape too.
    frameworkErrors: (error, request, reply) => {
      void sendError(request, (reply as FastifyReply).header('x-request-id', request.id), mapError(error));
    },
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    // Longer than any id: an over-long path parameter reaches validation (a 400 naming it)
    // instead of Fastify's bare 414; a URL longer still is a 414 in the contract's shape.
    routerOptions: { maxParamLength: 500 },
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
  // Before any route is added, so every route is known to the 405 answer.
  const routes = trackRoutes(app);
  app.decorate('routeTable', routes);

  // First, so every request gets a span and is counted, also those the hooks below refuse.
  if (deps.tracer) {
    const { registerRequestTracing } = await import('./request-tracing.js');
    registerRequestTracing(app, deps.tracer, deps.traceParentFrom ?? DEFAULT_TRACE_PARENT_FROM);
  }
  const registry = deps.metrics === false ? undefined : (deps.metrics?.registry ?? new Registry());
  if (registry) recordRequestMetrics(app, registry);
  registerShutdownRefusal(app);
  if (deps.overload) await registerLoadShedding(app, deps.overload);
  if (codecCors) registerCodecCors(app, deps.codecCorsOrigins ?? []);
  const keys = deps.apiKeys ?? [];
  registerAccessControl(app, { keys, rateLimit: deps.rateLimiter });
  registerErrorAnswers(app, routes);
  return { app, registry, keyed: keys.length > 0 };
}

/**
 * From the moment close() starts, in-flight requests finish but new ones (arriving on a
 * kept-alive connection) are refused with Retry-After and the connection is closed.
 */
function registerShutdownRefusal(app: FastifyInstance): void {
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
}

/** Every route the app serves, as it is added (routes that only refuse methods excepted). */
function trackRoutes(app: FastifyInstance): RouteTable {
  const routes = createRouteTable();
  app.addHook('onRoute', (route) => {
    if (!(route.config as { refusesMethod?: boolean } | undefined)?.refusesMethod) routes.add(route.url, route.method);
  });
  return routes;
}

/**
 * Errors from any layer, and unknown routes, answer in the contract's shape (errors.ts). A
 * known path asked with a method it does not serve is a 405 naming the methods it does.
 */
function registerErrorAnswers(app: FastifyInstance, routes: RouteTable): void {
  // Before any body parsing: a QUERY without a Content-Type is still a 405, not a parse error.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url !== undefined) return;
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.methodsOf(path);
    if (allowed.length > 0) throw new MethodNotAllowedError(request.method, path, allowed);
  });
  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.status === 503) request.log.warn({ code: mapped.body.error.code, detail: (err as { detail?: string }).detail }, 'unavailable');
    else if (mapped.status >= 500) request.log.error({ err }, 'request failed');
    return sendError(request, reply, mapped);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, mapError(new RouteNotFoundError(request.method, request.url.split('?')[0] ?? ''))),
  );
}

/**
 * The Content-Security-Policy of /docs and its assets. Swagger UI loads its scripts and styles
 * from /docs itself (no inline script), fetches the document and tries requests on this
 * origin, and draws icons as data: images; nothing else may load, frame it or be posted to.
 * Not the plugin's default: that one allows styles and fonts from any https origin and
 * upgrades requests to https, which breaks the page on a plain-http loopback API.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The OpenAPI document at /openapi.json, generated from the routes' zod schemas, and its page at /docs. */
async function registerDocs(app: FastifyInstance, withKeys: boolean): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      // 3.1: JSON Schema 2020-12, which can say what 3.0 cannot (custom-field key patterns,
      // nullable enums) so the document describes exactly what the API accepts.
      openapi: '3.1.0',
      info: {
        title: 'Automation Orchestrator API',
        version: '1.0.0',
        description: 'Leads in; durable processing, CRM sync and email out, orchestrated by Temporal.',
      },
      // Declared up front: the plugin looks up the scheme each operation's security names.
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Each operation's security names the scope its route needs (OpenAPI 3.1 allows roles for http schemes).
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const access = input.route.config?.access;
      return access === 'read' || access === 'write' || access === 'admin' ? { ...out, schema: { ...out.schema, security: [{ bearer: [access] }] } } : out;
    },
    transformObject: (documents) => ('openapiObject' in documents ? completeDocument(documents.openapiObject, withKeys) : documents.swaggerObject),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
  app.get('/openapi.json', { schema: { hide: true }, config: { access: 'public' } }, async () => app.swagger());
}

/** Every error answer goes out here, in the contract's shape with the request's id. */
function sendError(request: FastifyRequest, reply: FastifyReply, mapped: MappedError): FastifyReply {
  mapped.body.error.request_id = request.id;
  return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
}
