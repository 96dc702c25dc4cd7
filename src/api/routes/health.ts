import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const Health = z.object({ status: z.string() });
const Ready = z.object({ status: z.enum(['ready', 'unavailable']), temporal: z.boolean() });

/** GET /health, on both listeners: the process answers (load balancers, the image's HEALTHCHECK). */
export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/health', { config: { access: 'public' }, schema: { operationId: 'health', summary: 'Liveness: the process answers (does not touch Temporal)', tags: ['ops'], response: { 200: Health } } }, async () => ({ status: 'ok' }));
};

/** GET /ready, on the ops listener only: each call pings Temporal, so it is not the public's to repeat. */
export const readinessRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/ready', { config: { access: 'public' }, schema: { operationId: 'ready', summary: 'Readiness: Temporal reachable and answering', tags: ['ops'], response: { 200: Ready, 503: Ready } } }, async (_request, reply) => {
    const temporal = await app.leads.ping(1000);
    if (!temporal) reply.code(503).header('retry-after', '2');
    return { status: temporal ? ('ready' as const) : ('unavailable' as const), temporal };
  });
};
