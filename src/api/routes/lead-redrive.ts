import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Email, LeadStage } from '../../domain/lead.js';
import { MethodNotAllowedError } from '../errors.js';
import { errorResponses, IdempotencyHeaders, LeadIdParams, LeadView, ListQuery } from '../schemas.js';

// Failed work of leads and re-driving it (lead-redrive.ts): the list, one lead now, many by filter.

export const FailedQuery = ListQuery.extend({
  status: z.enum(['failed', 'retrying']).optional().meta({
    description: 'failed: waiting for its repair (timer or re-drive); retrying: a CRM or email activity is being retried now',
  }),
});

export const FailedLead = z.strictObject({
  lead: LeadView,
  state: z.enum(['failed', 'retrying']),
  retrying: z
    .strictObject({ activity: z.string(), attempt: z.number().int(), last_failure: z.string().nullable(), next_attempt_at: z.string().nullable() })
    .nullable(),
});

export const RetryAccepted = z.strictObject({
  id: z.string(),
  status: z.literal('redriving'),
  via: z.enum(['update', 'signal']).meta({
    description:
      "update: the lead's workflow accepted the re-drive and answered what it held; signal: no worker answered in time, so the re-drive was recorded as a signal the lead handles once a worker runs it (crm and welcome unknown: null)",
  }),
  crm: z.string().nullable().meta({ description: 'the CRM status when the re-drive was accepted (failed), null when taken as a signal' }),
  welcome: z.enum(['pending', 'sent', 'skipped', 'failed']).nullable(),
});

export const BulkBody = z.strictObject({
  filter: z.strictObject({ email: Email.optional(), stage: LeadStage.optional() }).default({}),
});

export const BulkAccepted = z.strictObject({
  job_id: z.string(),
  matched: z.number().int().meta({ description: 'failed leads the filter matched when the job started' }),
  deduplicated: z.boolean(),
});

const JobParams = z.strictObject({
  job_id: z.string().regex(/^redrive-[a-z2-7]{20}$/, { message: 'must be a re-drive job id (redrive-<20 characters>)' }),
});

export const RedriveJob = z.strictObject({
  job_id: z.string(),
  state: z.enum(['running', 'completed', 'failed', 'unknown']),
  total: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

export const leadRedriveRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/leads/failed',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'listFailedLeads',
        summary: 'Leads whose CRM sync failed: waiting for their repair, or being retried now (Temporal visibility)',
        tags: ['re-drive'],
        querystring: FailedQuery,
        response: { 200: z.strictObject({ items: z.array(FailedLead), next_cursor: z.string().nullable() }), ...errorResponses(400, 401, 414, 429, 503) },
      },
    },
    async (request) => {
      const { status, ...filter } = request.query;
      return app.leads.failed({ ...filter, state: status });
    },
  );

  app.post(
    '/api/leads/:id/retry',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'retryLead',
        summary: "Re-drive a lead's failed CRM sync or welcome email now, not at its next repair timer (dead letters included)",
        tags: ['re-drive'],
        params: LeadIdParams,
        response: { 202: RetryAccepted, ...errorResponses(400, 401, 404, 409, 414, 429, 503) },
      },
    },
    async (request, reply) => {
      const answer = await app.leads.retry(request.params.id);
      request.log.info({ lead_id: request.params.id, ...answer }, 'lead re-driven');
      return reply.code(202).send({ id: request.params.id, status: 'redriving' as const, ...answer });
    },
  );

  app.post(
    '/api/leads/retry',
    {
      config: { access: 'admin' },
      schema: {
        operationId: 'retryLeads',
        summary: 'Re-drive every failed lead a filter matches (a Temporal batch operation)',
        tags: ['re-drive'],
        headers: IdempotencyHeaders,
        body: BulkBody,
        response: { 202: BulkAccepted, ...errorResponses(400, 401, 409, 413, 414, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      const job = await app.leads.retryMany(request.body.filter, request.headers['idempotency-key']);
      request.log.info(job, 'bulk re-drive');
      return reply.code(202).header('location', `/api/redrive-jobs/${job.job_id}`).send(job);
    },
  );

  app.get(
    '/api/redrive-jobs/:job_id',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getRedriveJob',
        summary: "A bulk re-drive's progress (Temporal's batch operation record)",
        tags: ['re-drive'],
        params: JobParams,
        response: { 200: RedriveJob, ...errorResponses(400, 401, 404, 414, 429, 503) },
      },
    },
    async (request) => app.leads.redriveJob(request.params.job_id),
  );

  refuseOtherMethods(app);
};

// Static paths beside `/api/leads/:id`: other methods on them would reach the lead routes
// and fail as a bad lead id; they are refused as methods (as /api/leads/batch is).
function refuseOtherMethods(app: FastifyInstance): void {
  for (const [url, allowed] of [
    ['/api/leads/failed', ['GET']],
    ['/api/leads/retry', ['POST']],
  ] as const) {
    app.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !(allowed as readonly string[]).includes(m)),
      url,
      config: { refusesMethod: true, access: 'any-key' },
      schema: { hide: true },
      handler: async (request) => {
        throw new MethodNotAllowedError(request.method, url, [...allowed]);
      },
    });
  }
}
