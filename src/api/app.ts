import { randomUUID, timingSafeEqual } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { HttpError, mapError } from './errors.js';
import type { LeadService } from './lead-service.js';
import { healthRoutes } from './routes/health.js';
import { leadRoutes } from './routes/leads.js';
import { taskRoutes } from './routes/tasks.js';

declare module 'fastify' {
  interface FastifyInstance {
    leads: LeadService;
  }
}

export interface AppDeps {
  leads: LeadService;
  /** Bearer keys accepted on /api/*; empty means the API is open (loopback default). */
  apiKeys?: string[];
  bodyLimitBytes?: number;
  logger?: FastifyServerOptions['logger'];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP app as a plain factory: server.ts listens with it, tests call `inject` on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // URL and routing errors raised before any route runs get the contract's error shape too.
    frameworkErrors: (error, request, reply) => {
      const mapped = mapError(error);
      mapped.body.error.request_id = request.id;
      void (reply as FastifyReply).code(mapped.status).header('x-request-id', request.id).headers(mapped.headers).send(mapped.body);
    },
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
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

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const keys = (deps.apiKeys ?? []).map((k) => Buffer.from(k));
  if (keys.length > 0) {
    app.addHook('onRequest', async (request) => {
      // The matched route, not the raw URL: `/%61pi/leads` routes to /api/leads too.
      const route = request.routeOptions.url;
      if (route !== undefined && !route.startsWith('/api/')) return;
      const [scheme = '', token = ''] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
      const presented = Buffer.from(scheme.toLowerCase() === 'bearer' ? token : '');
      const ok = keys.some((k) => k.length === presented.length && timingSafeEqual(k, presented));
      if (!ok) {
        throw new HttpError(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>', [], {
          'www-authenticate': 'Bearer',
        });
      }
    });
  }

  app.setErrorHandler((err, request, reply) => {
    const mapped = mapError(err);
    if (mapped.status >= 500) request.log.error({ err }, 'request failed');
    else if (mapped.status === 503) request.log.warn({ detail: (err as { detail?: string }).detail }, 'temporal unavailable');
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
  return app;
}
