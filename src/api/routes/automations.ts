import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AUTOMATION_ID } from '../../automations/schema.js';
import { RUN_ID_PATTERN } from '../../automations/ids.js';
import type { AutomationService } from '../../automations/service.js';
import { errorResponses, IdempotencyHeaders, LeadIdParams } from '../schemas.js';

// /api/automations: the definitions, and starting a run by hand. Runs are read and
// cancelled in automation-runs.ts; the emails' unsubscribe link is in unsubscribe.ts.

export const automationErrors = errorResponses(400, 401, 404, 409, 414, 429, 503);

const automationId = z.string().max(48).regex(AUTOMATION_ID, { message: 'must be an automation id (lower-case letters, digits, dashes)' });
const AutomationParams = z.strictObject({ automation_id: automationId });
const LeadAutomationParams = LeadIdParams.extend({ automation_id: automationId });
export const RunParams = z.strictObject({
  run_id: z
    .string()
    .max(100)
    .regex(RUN_ID_PATTERN, { message: 'must be a run id (automation-<lead id>-<automation id>-<12 characters>)' }),
});
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/, { message: 'must be a next_cursor value from a previous page' }).optional(),
});

const Automation = z.looseObject({ id: z.string(), name: z.string(), enabled: z.boolean(), definition_hash: z.string() });
const RunStep = z.looseObject({ key: z.string(), type: z.string(), summary: z.string(), status: z.string() });
export const Run = z.looseObject({
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
    { config: { access: 'read' }, schema: { operationId: 'listAutomations', summary: 'List automation definitions', tags: ['automations'], response: { 200: z.object({ items: z.array(Automation) }), ...automationErrors } } },
    async () => ({ items: service.list() }),
  );

  app.get(
    '/api/automations/:automation_id',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getAutomation',
        summary: 'Show an automation: its definition and the hash new runs are pinned to',
        tags: ['automations'],
        params: AutomationParams,
        response: { 200: Automation, ...automationErrors },
      },
    },
    async (request) => service.get(request.params.automation_id),
  );

  app.post(
    '/api/leads/:id/automations/:automation_id/runs',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'startAutomationRun',
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
          ...automationErrors,
        },
      },
    },
    async (request, reply) => {
      const { id, automation_id } = request.params;
      const run = await service.startRun(id, automation_id, request.headers['idempotency-key']);
      return reply.code(202).header('location', `/api/automation-runs/${run.run_id}`).send(run);
    },
  );
};
