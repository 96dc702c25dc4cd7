import { z } from 'zod';
import { CRM_STATUSES, Email, LEAD_STAGES, LeadStage, SOME_TEXT, text } from '../domain/lead.js';
import { STEP_NAMES, TASK_STATUSES, TASK_TYPES } from '../domain/task.js';

// HTTP-level shapes: params, query strings and response bodies. The lead body schemas
// themselves live in the domain (LeadInput, LeadPatch) and are shared with the workers.

export const LeadId = z
  .string()
  .regex(/^[a-z2-7]{20}$/, { message: 'must be a lead id (20 characters a-z, 2-7)' })
  .meta({ examples: ['i4iwhvg4uyoicqlibja4'] });
export const LeadIdParams = z.strictObject({ id: LeadId });

export const TaskIdParams = z.strictObject({
  task_id: z
    .string()
    .regex(/^[a-z2-7]{20}\.[a-z2-7]{12}$/, { message: 'must be a task id (<lead id>.<12 characters>)' })
    .meta({ examples: ['i4iwhvg4uyoicqlibja4.wyvntbqrdi7z'] }),
});

export const ListQuery = z.strictObject({
  email: Email.optional(),
  stage: LeadStage.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]+$/, { message: 'must be a next_cursor value from a previous page' })
    .optional(),
});

export const IdempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7E]+$/, { message: 'must be 1-255 visible ASCII characters' })
    .optional(),
});

const Issue = z.object({ path: z.string(), code: z.string(), message: z.string() });
/** Every 4xx and 5xx answer (errors.ts): the problems, each named, and the request's id for the logs. */
export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(Issue).max(50),
      request_id: z.string(),
      lead_id: z.string().optional().meta({ description: 'email_taken: the lead that has the email' }),
    }),
  })
  .meta({
    examples: [
      {
        error: {
          code: 'invalid_request',
          message: 'the request body is invalid (1 problem)',
          issues: [{ path: 'email', code: 'invalid_format', message: 'must be a valid email address' }],
          request_id: '5d0c6a52-8f0e-4c43-9d3b-2a1f0e8b7c11',
        },
      },
    ],
  });

/** The error answers a route can give, by status. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S | 403, typeof ErrorResponse> {
  // A route that needs a key (401) needs a scope too: 403 missing_scope.
  const all: number[] = statuses.includes(401 as S) ? [...statuses, 403] : statuses;
  return Object.fromEntries(all.map((status) => [status, ErrorResponse])) as Record<S | 403, typeof ErrorResponse>;
}

export const WriteAccepted = z.object({
  id: z.string(),
  task_id: z.string(),
  status: z.literal('queued'),
});
export const CreateAccepted = WriteAccepted.extend({ deduplicated: z.boolean() });

/** A lead as reads show it: its fields as last written (normalized once processed) and its state. */
export const LeadView = z.strictObject({
  id: z.string(),
  email: z.string(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  company: z.string().optional(),
  phone: z.string().optional(),
  source: z.string().optional(),
  stage: z.enum(LEAD_STAGES),
  tags: z.array(z.string()).optional(),
  custom: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  unsubscribed: z.boolean().optional(),
  version: z.number().int(),
  score: z.number(),
  crm: z.strictObject({
    status: z.enum(CRM_STATUSES),
    synced_version: z.number().int(),
    last_error: z.string().optional(),
    permanent: z.boolean().optional().meta({
      description: 'true: the CRM refused this version (a dead letter); no timer retries it, a re-drive or a new change does',
    }),
  }),
  created_at: z.string(),
  updated_at: z.string(),
});

export const ReadSource = z.enum(['events', 'workflow', 'history']);
export const LeadResponse = LeadView.extend({ read_source: ReadSource });

/** DELETE /api/leads/:id: the erasure is durably asked for; follow its task. */
export const ErasureAccepted = WriteAccepted;

/** POST /api/leads/:id/consent: the address's consent, and where it was given. */
export const ConsentBody = z.strictObject({
  subscribed: z.boolean().meta({ description: 'true: the person asked to receive email again; false: opt out' }),
  source: text(200)
    .pipe(z.string().min(1, { message: 'say where the consent was given (a form, a call, a double opt-in)' }))
    .meta({ maxLength: 200, pattern: SOME_TEXT, examples: ['double opt-in confirmed 2026-12-07 via preferences page'] }),
});
export const ConsentAccepted = z.strictObject({
  id: z.string(),
  task_id: z.string().nullable().meta({ description: 'null when the address already was in that state: nothing changed' }),
  status: z.enum(['queued', 'unchanged']),
  unsubscribed: z.boolean(),
});

const Suppression = z.strictObject({ reason: z.string(), source: z.string(), at: z.string() });
/** GET /api/leads/:id/export: everything the service holds about the lead. */
export const LeadExport = z.strictObject({
  exported_at: z.string(),
  lead: LeadView,
  consent: z.strictObject({ unsubscribed: z.boolean(), suppression: Suppression.nullable() }),
  email_claim: z.strictObject({ held: z.boolean(), claimed_at: z.string().nullable() }),
  crm: LeadView.shape.crm,
  history: z.array(z.looseObject({ at: z.string(), kind: z.string() })),
});

export const LeadList = z.strictObject({
  items: z.array(LeadView),
  next_cursor: z.string().nullable(),
});

const Step = z.strictObject({
  name: z.enum(STEP_NAMES),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'skipped']),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  note: z.string().optional(),
});
export const TaskResponse = z.looseObject({
  task_id: z.string(),
  lead_id: z.string(),
  type: z.enum(TASK_TYPES),
  status: z.enum(TASK_STATUSES),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  steps: z.array(Step),
  read_source: ReadSource,
});

export const HistoryResponse = z.object({
  events: z.array(z.looseObject({ at: z.string(), kind: z.string() })),
});
