import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AutomationService } from '../../automations/service.js';
import { z } from 'zod';
import { IdempotencyHeaders, LeadIdParams } from '../schemas.js';
import { automationErrors as errors, PageQuery, Run, RunParams, type AutomationRoutesOptions } from './automations.js';

const ProblemQuery = PageQuery.extend({
  status: z.enum(['failed', 'stuck']).default('failed').meta({
    description: 'failed: failed, timed out or terminated; stuck: running with an activity being retried',
  }),
});

const ProblemRun = z.looseObject({
  run_id: z.string(),
  automation_id: z.string(),
  lead_id: z.string(),
  status: z.string(),
  retrying: z
    .strictObject({ activity: z.string(), attempt: z.number().int(), last_failure: z.string().nullable(), next_attempt_at: z.string().nullable() })
    .nullable(),
});

/** /api/automation-runs and a lead's runs: reading, cancelling and retrying runs. */
export const automationRunRoutes: FastifyPluginAsyncZod<AutomationRoutesOptions> = async (app, options) => {
  const service = options.service;
  if (!service) return;

  app.get(
    '/api/leads/:id/automation-runs',
    {
      config: { access: 'read' },
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
    '/api/automation-runs/failed',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'listProblemAutomationRuns',
        summary: 'Failed runs, or running runs stuck retrying an activity (Temporal visibility)',
        tags: ['re-drive'],
        querystring: ProblemQuery,
        response: { 200: z.object({ items: z.array(ProblemRun), next_cursor: z.string().nullable() }), ...errors },
      },
    },
    async (request) => service.problemRuns(request.query),
  );

  runRoutes(app, service);
};

/** One run by its id: read it, retry it, cancel it. */
function runRoutes(app: Parameters<FastifyPluginAsyncZod>[0], service: AutomationService): void {
  app.post(
    '/api/automation-runs/:run_id/retry',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'retryAutomationRun',
        summary: 'Retry a failed or cancelled run: a fresh run with the same input, under a new run id',
        tags: ['re-drive'],
        params: RunParams,
        headers: IdempotencyHeaders,
        response: {
          202: z.object({ run_id: z.string(), retry_of: z.string(), status: z.literal('started'), deduplicated: z.boolean() }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const started = await service.retryRun(request.params.run_id, request.headers['idempotency-key']);
      request.log.info(started, 'automation run retried');
      return reply.code(202).header('location', `/api/automation-runs/${started.run_id}`).send(started);
    },
  );

  app.get(
    '/api/automation-runs/:run_id',
    {
      config: { access: 'read' },
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
      config: { access: 'write' },
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
}
