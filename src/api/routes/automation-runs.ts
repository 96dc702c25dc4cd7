import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LeadIdParams } from '../schemas.js';
import { automationErrors as errors, PageQuery, Run, RunParams, type AutomationRoutesOptions } from './automations.js';

/** /api/automation-runs and a lead's runs: reading and cancelling runs. */
export const automationRunRoutes: FastifyPluginAsyncZod<AutomationRoutesOptions> = async (app, options) => {
  const service = options.service;
  if (!service) return;

  app.get(
    '/api/leads/:id/automation-runs',
    {
      schema: {
        operationId: 'listLeadAutomationRuns',
        summary: "A lead's automation runs (Temporal visibility)",
        tags: ['automations'],
        params: LeadIdParams,
        querystring: PageQuery,
        response: { 200: z.object({ items: z.array(z.looseObject({ run_id: z.string(), status: z.string() })), next_cursor: z.string().nullable() }), ...errors },
      },
    },
    async (request) => service.leadRuns(request.params.id, request.query),
  );

  app.get(
    '/api/automation-runs/:run_id',
    {
      schema: {
        operationId: 'getAutomationRun',
        summary: 'Show a run: status, current step, steps done with timestamps, next wake-up',
        tags: ['automations'],
        params: RunParams,
        response: { 200: Run, ...errors },
      },
    },
    async (request, reply) => {
      const run = await service.getRun(request.params.run_id);
      return reply.header('x-read-source', run.read_source).send(run);
    },
  );

  app.post(
    '/api/automation-runs/:run_id/cancel',
    {
      schema: {
        operationId: 'cancelAutomationRun',
        summary: 'Cancel a running run (Temporal cancellation: it stops in its current wait or step)',
        tags: ['automations'],
        params: RunParams,
        response: { 202: z.object({ run_id: z.string(), status: z.literal('cancelling') }), ...errors },
      },
    },
    async (request, reply) => reply.code(202).send(await service.cancelRun(request.params.run_id)),
  );
};
