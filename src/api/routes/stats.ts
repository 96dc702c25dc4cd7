import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CRM_STATUSES } from '../../domain/lead.js';
import type { StatsService } from '../stats.js';
import { errorResponses } from '../schemas.js';

// GET /api/stats: what an operator asks first in an incident — how far behind the workers
// are (Temporal's task-queue statistics) and what is failing (running leads by CRM status).

const count = z.number().int().min(0);
const QueueTypeStats = z.object({
  backlog: count,
  backlog_age_s: z.number().min(0),
  add_rate: z.number().min(0),
  dispatch_rate: z.number().min(0),
  pollers: count,
});
const Stats = z.object({
  at: z.string(),
  task_queues: z.record(z.string(), z.object({ workflow: QueueTypeStats, activity: QueueTypeStats })),
  leads_by_crm_status: z.object(Object.fromEntries(CRM_STATUSES.map((status) => [status, count])) as Record<(typeof CRM_STATUSES)[number], typeof count>),
});

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
      schema: {
        operationId: 'getStats',
        summary: 'Backlog per task queue (workflow and activity tasks, pollers) and running leads by CRM status',
        tags: ['ops'],
        response: { 200: Stats, ...errorResponses(400, 401, 414, 429, 503) },
      },
    },
    async () => service.read(),
  );
};
