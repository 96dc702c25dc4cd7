import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { StatsResponse, type StatsService } from '../../leads/stats.js';
import { errorResponses } from '../schemas.js';

// GET /api/stats: what an operator asks first in an incident — how far behind the workers
// are (Temporal's task-queue statistics), what is failing (leads by CRM status), and whether
// new leads reach the CRM as fast as they arrive (the last minute).

export interface StatsRoutesOptions {
  /** Unset: no /api/stats route (an app built without it). */
  service?: StatsService | undefined;
}

export const statsRoutes: FastifyPluginAsyncZod<StatsRoutesOptions> = async (app, options) => {
  const service = options.service;
  if (!service) return;

  app.get(
    '/api/stats',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getStats',
        summary: 'Backlog per task queue, leads retrying and failed, new leads accepted and synced in the last minute',
        tags: ['ops'],
        response: { 200: StatsResponse, ...errorResponses(400, 401, 414, 429, 503) },
      },
    },
    async () => service.read(),
  );
};
