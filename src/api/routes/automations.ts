import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AUTOMATION_ID } from '../../automations/schema.js';
import { RUN_ID_PATTERN } from '../../automations/ids.js';
import { LEAD_ID_PATTERN } from '../../domain/ids.js';
import type { AutomationService } from '../automation-service.js';
import { ErrorResponse, IdempotencyHeaders, LeadIdParams } from '../schemas.js';

// /api/automations and /api/automation-runs, and the unsubscribe link of automation emails.

const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse };

const automationId = z.string().max(48).regex(AUTOMATION_ID, { message: 'must be an automation id (lower-case letters, digits, dashes)' });
const AutomationParams = z.strictObject({ automation_id: automationId });
const LeadAutomationParams = LeadIdParams.extend({ automation_id: automationId });
const RunParams = z.strictObject({
  run_id: z.string().regex(RUN_ID_PATTERN, { message: 'must be a run id (automation-<lead id>-<automation id>-<12 characters>)' }),
});
const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/, { message: 'must be a next_cursor value from a previous page' }).optional(),
});
const UnsubscribeQuery = z.strictObject({
  lead: z.string().regex(LEAD_ID_PATTERN, { message: 'must be a lead id' }),
  token: z.string().regex(/^[A-Za-z0-9_-]{32}$/, { message: 'must be the token of an unsubscribe link' }),
});

const Automation = z.looseObject({ id: z.string(), name: z.string(), enabled: z.boolean(), definition_hash: z.string() });
const RunStep = z.looseObject({ key: z.string(), type: z.string(), summary: z.string(), status: z.string() });
const Run = z.looseObject({
  run_id: z.string(),
  automation_id: z.string(),
  lead_id: z.string(),
  status: z.string(),
  current_step: RunStep.nullable(),
  steps: z.array(RunStep),
  next_wake_up: z.string().nullable(),
  read_source: z.enum(['workflow', 'history']),
});

export interface AutomationRoutesOptions {
  /** Unset: the routes answer 404 automation_not_found (an app built without automations). */
  service?: AutomationService | undefined;
}

export const automationRoutes: FastifyPluginAsyncZod<AutomationRoutesOptions> = async (app, options) => {
  const service = options.service;
  if (!service) return;

  app.get(
    '/api/automations',
    { schema: { summary: 'List automation definitions', tags: ['automations'], response: { 200: z.object({ items: z.array(Automation) }), ...errors } } },
    async () => ({ items: service.list() }),
  );

  app.get(
    '/api/automations/:automation_id',
    {
      schema: {
        summary: 'Show an automation: its definition and the hash new runs are pinned to',
        tags: ['automations'],
        params: AutomationParams,
        response: { 200: Automation, ...errors },
      },
    },
    async (request) => service.get(request.params.automation_id),
  );

  app.post(
    '/api/leads/:id/automations/:automation_id/runs',
    {
      schema: {
        summary: 'Start a run of an automation for a lead (Idempotency-Key: the same key starts one run)',
        tags: ['automations'],
        params: LeadAutomationParams,
        headers: IdempotencyHeaders,
        response: {
          202: z.object({
            run_id: z.string(),
            automation_id: z.string(),
            lead_id: z.string(),
            definition_hash: z.string(),
            status: z.literal('started'),
            deduplicated: z.boolean(),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { id, automation_id } = request.params;
      const run = await service.startRun(id, automation_id, request.headers['idempotency-key']);
      return reply.code(202).header('location', `/api/automation-runs/${run.run_id}`).send(run);
    },
  );

  app.get(
    '/api/leads/:id/automation-runs',
    {
      schema: {
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
        summary: 'Cancel a running run (Temporal cancellation: it stops in its current wait or step)',
        tags: ['automations'],
        params: RunParams,
        response: { 202: z.object({ run_id: z.string(), status: z.literal('cancelling') }), ...errors },
      },
    },
    async (request, reply) => reply.code(202).send(await service.cancelRun(request.params.run_id)),
  );

  // The unsubscribe link of automation emails: not under /api (no API key; the token is
  // the credential). GET shows a confirmation button, so a mail scanner following links
  // unsubscribes nobody; POST (the button, or RFC 8058 one-click) unsubscribes.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => done(null, body));

  app.get(
    '/unsubscribe',
    { schema: { hide: true, querystring: UnsubscribeQuery } },
    async (request, reply) => {
      const { lead, token } = request.query;
      const action = `/unsubscribe?lead=${encodeURIComponent(lead)}&token=${encodeURIComponent(token)}`;
      return reply
        .type('text/html; charset=utf-8')
        .send(page('Unsubscribe', `<p>Stop receiving automated emails from us?</p><form method="post" action="${action}"><button type="submit">Unsubscribe</button></form>`));
    },
  );

  app.post(
    '/unsubscribe',
    { schema: { hide: true, querystring: UnsubscribeQuery } },
    async (request, reply) => {
      await service.unsubscribe(request.query.lead, request.query.token);
      return reply.type('text/html; charset=utf-8').send(page('Unsubscribed', '<p>You are unsubscribed: you will get no more automated emails from us.</p>'));
    },
  );
};

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
