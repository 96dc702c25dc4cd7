import { z } from 'zod';
import { Email, LEAD_STAGES, LeadStage } from '../domain/lead.js';
import { TASK_STATUSES, TASK_TYPES } from '../domain/task.js';

// HTTP-level shapes: params, query strings and response bodies. The lead body schemas
// themselves live in the domain (LeadInput, LeadPatch) and are shared with the workers.

export const LeadIdParams = z.strictObject({
  id: z.string().regex(/^[a-z2-7]{20}$/, { message: 'must be a lead id (20 characters a-z, 2-7)' }),
});

export const TaskIdParams = z.strictObject({
  task_id: z.string().regex(/^[a-z2-7]{20}\.[a-z2-7]{12}$/, { message: 'must be a task id (<lead id>.<12 characters>)' }),
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
export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(Issue) }),
});

export const WriteAccepted = z.object({
  id: z.string(),
  task_id: z.string(),
  status: z.literal('queued'),
});
export const CreateAccepted = WriteAccepted.extend({ deduplicated: z.boolean() });

export const LeadResponse = z.looseObject({
  id: z.string(),
  email: z.string(),
  version: z.number().int(),
  score: z.number(),
  stage: z.enum(LEAD_STAGES),
  crm: z.object({ status: z.string(), synced_version: z.number().int() }),
  created_at: z.string(),
  updated_at: z.string(),
  read_source: z.enum(['events', 'workflow', 'history']),
});

export const LeadList = z.object({
  items: z.array(z.object(LeadResponse.omit({ read_source: true }).shape)),
  next_cursor: z.string().nullable(),
});

const Step = z.object({
  name: z.string(),
  status: z.string(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
});
export const TaskResponse = z.looseObject({
  task_id: z.string(),
  lead_id: z.string(),
  type: z.enum(TASK_TYPES),
  status: z.enum(TASK_STATUSES),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  steps: z.array(Step),
  read_source: z.enum(['events', 'workflow', 'history']),
});

export const HistoryResponse = z.object({
  events: z.array(z.looseObject({ at: z.string(), kind: z.string() })),
});
