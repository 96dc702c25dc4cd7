import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { leadWorkflowId } from '../../domain/ids.js';
import { LeadInput } from '../../domain/lead.js';
import { BATCH_MAX_LEADS, importLeads } from '../lead-batch.js';
import { ErrorResponse, IdempotencyHeaders } from '../schemas.js';

/**
 * 500 leads of up to about 4 KiB each. For this route only: every other body keeps the
 * API's BODY_LIMIT_BYTES (a larger configured limit applies here too).
 */
const BATCH_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * This route's backstop instead of HANDLER_TIMEOUT_MS: 500 creates take longer than one
 * write (measured on 2 shared cores with the worker busy: 5 s to over 14 s for a full
 * batch), and a batch that always ran out of time would never succeed however often it was
 * retried. Below the idle-socket timeout (CONNECTION_TIMEOUT_MS, 60 s), which would cut the
 * answer off.
 */
const BATCH_HANDLER_TIMEOUT_MS = 45_000;

/** Time kept back from the backstop, so a batch out of time answers its own 503, its writes stopped. */
const BACKSTOP_MARGIN_MS = 1000;

/**
 * An item is validated by the handler, one lead at a time, so that an invalid lead is
 * answered in its place instead of refusing the batch (decision record in
 * docs/decisions.md). The document says exactly that: an item may be anything, and at least
 * one item must be a valid lead (JSON Schema's `contains`), else the batch is refused (400).
 */
const { $schema: _dialect, ...leadJsonSchema } = z.toJSONSchema(LeadInput, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
const BatchLead = z.unknown().meta({
  description: 'A lead as in POST /api/leads. Each is validated on its own: an invalid one is rejected in its place in the answer, the others are still created.',
});

export const BatchBody = z.strictObject({
  leads: z
    .array(BatchLead)
    .min(1, { message: 'must hold at least one lead' })
    .max(BATCH_MAX_LEADS, { message: `must hold at most ${BATCH_MAX_LEADS} leads` })
    .meta({ contains: leadJsonSchema, description: `1 to ${BATCH_MAX_LEADS} leads, at least one of them valid` }),
});

const Issue = z.object({ path: z.string(), code: z.string(), message: z.string() });

const AcceptedLead = z.object({
  index: z.number().int(),
  id: z.string(),
  task_id: z.string(),
  status: z.literal('queued'),
  deduplicated: z.boolean(),
});

const RejectedLead = z.object({
  index: z.number().int(),
  error: z.object({ code: z.literal('invalid_lead'), message: z.string(), issues: z.array(Issue) }),
});

export const BatchAccepted = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  items: z.array(z.union([AcceptedLead, RejectedLead])),
});

/** The batch's leads, as sent (read before validation; at most what validation lets through). */
function batchCost(request: { body: unknown }): number {
  const leads = (request.body as { leads?: unknown } | undefined)?.leads;
  return Array.isArray(leads) ? Math.min(leads.length, BATCH_MAX_LEADS) : 1;
}

/** POST /api/leads/batch: up to 500 creates in one request, each durable in Temporal before the 202. */
export const leadBatchRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/api/leads/batch',
    {
      // A batch costs its client's rate limit one request per lead: 500 creates are not one request's work.
      config: { access: 'write', rateCost: batchCost },
      bodyLimit: Math.max(BATCH_BODY_LIMIT_BYTES, app.initialConfig.bodyLimit ?? 0),
      handlerTimeout: BATCH_HANDLER_TIMEOUT_MS,
      schema: {
        operationId: 'importLeads',
        summary: 'Create up to 500 leads (each validated on its own; idempotent as a whole with Idempotency-Key)',
        tags: ['leads'],
        headers: IdempotencyHeaders,
        body: BatchBody,
        response: {
          202: BatchAccepted,
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          413: ErrorResponse,
          415: ErrorResponse,
          422: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      // The batch may use what is left of the request's time, each write still bounded like a single one.
      const { handlerTimeout } = request.routeOptions;
      const budgetMs = handlerTimeout > 0 ? handlerTimeout - reply.elapsedTime - BACKSTOP_MARGIN_MS : undefined;
      const answer = await importLeads(app.leads, request.body, { idempotencyKey: request.headers['idempotency-key'], budgetMs });
      for (const item of answer.items) {
        if (!('id' in item)) continue;
        request.log.info(
          { op: 'create', batch_index: item.index, lead_id: item.id, workflow_id: leadWorkflowId(item.id), task_id: item.task_id },
          'write accepted',
        );
      }
      return reply.code(202).send(answer);
    },
  );
};
