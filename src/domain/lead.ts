import { z } from 'zod';

// One schema per domain shape, shared by the API, the workflows and the activities.
// This module must stay free of I/O and Node built-ins: workflow code imports it.

export const LEAD_STAGES = ['new', 'contacted', 'qualified', 'unqualified', 'customer'] as const;
export const LeadStage = z.enum(LEAD_STAGES);
export type LeadStage = z.infer<typeof LeadStage>;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls (CR and LF included), DEL, C1 controls (NEL included) and the Unicode line and
// paragraph separators: nothing a name, phone or tag needs, and a line break in a value that
// reaches an email header is a header-injection attempt.
const CONTROL_CHARS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// What the refinements below check, said again as JSON Schema for the OpenAPI document
// (zod cannot turn a refine or a pipe into JSON Schema): the document must accept exactly
// what the API accepts (test/contract checks it).
const CTRL = '\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029';
// What String.prototype.trim removes besides control characters.
const SPACE = ' \\u00A0\\u1680\\u2000-\\u200A\\u202F\\u205F\\u3000\\uFEFF';
const TRIMMED = `[\\t\\n\\u000B\\f\\r\\u2028\\u2029${SPACE}]*`;
const NO_CONTROL_CHARS = `^[^${CTRL}]*$`;
/** Text that is not empty once trimmed (JSON Schema pattern). */
export const SOME_TEXT = `^[^${CTRL}]*[^${CTRL}${SPACE}][^${CTRL}]*$`;
/** zod's email check (z.email()), written without look-arounds, around what trim() removes. */
const EMAIL = `^${TRIMMED}([A-Za-z0-9_'+-]+\\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9-]*\\.)+[A-Za-z]{2,}${TRIMMED}$`;

/** A single-line text field: trimmed, bounded, no control characters, well-formed UTF-16. */
export const text = (max: number) =>
  z
    .string()
    .max(max, { message: `must be at most ${max} characters` })
    .refine((v) => !CONTROL_CHARS.test(v), { message: 'must not contain control characters or line breaks (CR, LF, tab, NUL, U+2028)' })
    .refine((v) => !LONE_SURROGATE.test(v), { message: 'must be well-formed Unicode (lone surrogate found)' })
    .transform((v) => v.trim().replace(/\s+/g, ' '))
    .meta({ maxLength: max, pattern: NO_CONTROL_CHARS });

export const Email = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.string().max(254, { message: 'must be at most 254 characters' }).pipe(z.email({ message: 'must be a valid email address' })))
  .meta({ pattern: EMAIL, maxLength: 254, examples: ['ada@example.com'] });

const CustomKey = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, {
    message: 'keys must start with a letter and use letters, digits, _ . - (at most 64)',
  })
  .refine((k) => !FORBIDDEN_KEYS.has(k), { message: 'reserved key' })
  .meta({ pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$', not: { enum: [...FORBIDDEN_KEYS] } });
const CustomValue = z.union([text(1000), z.number().finite(), z.boolean()]);

export const Custom = z
  .record(CustomKey, CustomValue)
  .refine((r) => Object.keys(r).length <= 50, { message: 'at most 50 custom fields' })
  .meta({ maxProperties: 50 });

export const Tags = z
  .array(text(64).pipe(z.string().min(1, { message: 'must not be empty' })).meta({ maxLength: 64, pattern: SOME_TEXT }))
  .max(50, { message: 'at most 50 tags' })
  .transform((tags) => [...new Set(tags.map((t) => t.toLowerCase()))].sort());

const PHONE_CHARS = '0-9().\\-/';
const PHONE_CHAR = `[${PHONE_CHARS}]`;
const PHONE_OR_SPACE = `[${PHONE_CHARS}${SPACE}]`;
const Phone = text(40)
  .refine((v) => v === '' || /^\+?[0-9 ().\-/]{3,40}$/.test(v), {
    message: 'must contain only digits, spaces and + ( ) . - /',
  })
  // The same rule on the value as sent, before it is trimmed and each run of spaces made one
  // (any space may be a Unicode one): three or more phone characters and spaces after an
  // optional '+', starting and ending with a phone character, where a space straight after
  // the '+' counts once however long its run.
  .meta({
    maxLength: 40,
    pattern: `^[${SPACE}]*(\\+?${PHONE_CHAR}${PHONE_OR_SPACE}+${PHONE_CHAR}|\\+[${SPACE}]+${PHONE_CHAR}${PHONE_OR_SPACE}*${PHONE_CHAR})?[${SPACE}]*$`,
  });

const leadFieldShape = {
  first_name: text(100),
  last_name: text(100),
  company: text(200),
  phone: Phone,
  source: text(100),
  stage: LeadStage,
  tags: Tags,
  custom: Custom,
  unsubscribed: z.boolean(),
};

function optional<T extends Record<string, z.ZodType>>(shape: T) {
  return Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, s.optional()])) as {
    [K in keyof T]: z.ZodOptional<T[K]>;
  };
}
function clearable<T extends Record<string, z.ZodType>>(shape: T) {
  return Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, s.nullable().optional()])) as {
    [K in keyof T]: z.ZodOptional<z.ZodNullable<T[K]>>;
  };
}

/** Body of POST /api/leads and PUT /api/leads/:id: a whole lead. Unknown fields are refused. */
export const LeadInput = z.strictObject({ email: Email, ...optional(leadFieldShape) });
export type LeadInput = z.output<typeof LeadInput>;

/** Body of PATCH /api/leads/:id: any subset of fields; `null` clears an optional field. */
export const LeadPatch = z
  .strictObject({ email: Email.optional(), ...clearable(leadFieldShape) })
  .refine((p) => Object.keys(p).length > 0, { message: 'a patch must change at least one field' })
  .meta({ minProperties: 1 });
export type LeadPatch = z.output<typeof LeadPatch>;

export type LeadFields = LeadInput;

/**
 * `consent` is no client's write: the API sends it when an address's suppression changed
 * outside the lead (a resubscribe, a bounce), so the lead shows the address's state again.
 */
export const ChangeOp = z.enum(['create', 'replace', 'patch', 'consent']);
export type ChangeOp = z.infer<typeof ChangeOp>;

/** One accepted write, as the API hands it to the lead's entity workflow. */
export interface LeadChange {
  task_id: string;
  op: ChangeOp;
  fields: LeadInput | LeadPatch;
  received_at: string;
  /**
   * `crm`: a change made in the CRM (its webhook, src/crm-inbound). A patch of the fields that
   * differ from the lead (custom fields merged, not replaced), never written back to the CRM.
   */
  source?: 'crm';
  /** When the CRM says the change was made: a CRM change older than the one a field shows is dropped. */
  crm_at?: string;
}

export const CRM_STATUSES = ['pending', 'syncing', 'synced', 'failed'] as const;
export type CrmStatus = (typeof CRM_STATUSES)[number];

/** What GET /api/leads/:id answers. */
export interface LeadView extends LeadInput {
  id: string;
  version: number;
  score: number;
  stage: LeadStage;
  /** `permanent`: the CRM refused this version; no timer retries it (a re-drive or a new change does). */
  crm: { status: CrmStatus; synced_version: number; last_error?: string | undefined; permanent?: boolean | undefined };
  created_at: string;
  updated_at: string;
}
