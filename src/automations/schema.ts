import { z } from 'zod';
import { LEAD_STAGES, LeadPatch, Tags } from '../domain/lead.js';
import { CONDITION_OPS, fieldKind, type Condition, type ConditionOp, type FieldKind, type Scalar } from './conditions.js';
import { parseDuration } from './duration.js';

// The automation definition format: one zod schema, used by the loader at start-up of
// the API and the worker, and by `npm run automations:validate`. Steps are a union
// discriminated by `type` (STEP_SCHEMAS); `branch` and `wait_for` hold steps of their own.

export const AUTOMATION_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const TEMPLATE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const CUSTOM_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_CONDITION_DEPTH = 8;

// ---------------------------------------------------------------------------
// Conditions
// ---------------------------------------------------------------------------

type Issues = Array<{ path: (string | number)[]; message: string }>;

const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function checkCondition(value: unknown, path: (string | number)[], issues: Issues, depth = 0): void {
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'a condition is an object: {field, op, value}, {all: [...]}, {any: [...]} or {not: {...}}' });
    return;
  }
  if (depth > MAX_CONDITION_DEPTH) {
    issues.push({ path, message: `conditions nest at most ${MAX_CONDITION_DEPTH} levels deep` });
    return;
  }
  const keys = Object.keys(value);
  const alone = (key: string) => {
    if (keys.length !== 1) issues.push({ path, message: `\`${key}\` stands alone; found also ${keys.filter((k) => k !== key).join(', ')}` });
  };
  const group = (['all', 'any'] as const).find((g) => g in value);
  if (group) {
    alone(group);
    const list = value[group];
    if (!Array.isArray(list) || list.length === 0) {
      issues.push({ path: [...path, group], message: `\`${group}\` needs a non-empty list of conditions` });
      return;
    }
    list.forEach((c, i) => checkCondition(c, [...path, group, i], issues, depth + 1));
    return;
  }
  if ('not' in value) {
    alone('not');
    checkCondition(value.not, [...path, 'not'], issues, depth + 1);
    return;
  }
  checkLeaf(value, keys, path, issues);
}

/** A `{field, op, value}` leaf: a known field, a known op, and a value that fits both. */
function checkLeaf(value: Record<string, unknown>, keys: string[], path: (string | number)[], issues: Issues): void {
  const unknown = keys.filter((k) => !['field', 'op', 'value'].includes(k));
  if (unknown.length > 0) {
    issues.push({ path, message: `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (a condition has field, op, value, or all / any / not)` });
    return;
  }
  const { field, op, value: expected } = value;
  if (typeof field !== 'string') {
    issues.push({ path: [...path, 'field'], message: 'field is required (e.g. stage, score, tags, custom.industry)' });
    return;
  }
  const kind = fieldKind(field);
  if (!kind) {
    issues.push({ path: [...path, 'field'], message: `unknown field "${field}" (known: email, email_domain, first_name, last_name, company, phone, source, stage, tags, unsubscribed, score, version, crm.status, custom.<key>)` });
    return;
  }
  if (typeof op !== 'string' || !(CONDITION_OPS as readonly string[]).includes(op)) {
    issues.push({ path: [...path, 'op'], message: `op must be one of ${CONDITION_OPS.join(', ')}` });
    return;
  }
  checkOperand(field, kind, op as ConditionOp, expected, (message) => issues.push({ path: [...path, 'value'], message }));
}

function checkOperand(field: string, kind: FieldKind, op: ConditionOp, expected: unknown, fail: (message: string) => void): void {
  switch (op) {
    case 'exists':
      if (expected !== undefined && typeof expected !== 'boolean') fail('exists takes true (default) or false');
      return;
    case 'in':
    case 'not_in':
      if (!Array.isArray(expected) || expected.length === 0 || expected.length > 100 || !expected.every(isScalar)) {
        fail(`${op} needs a list of 1-100 values`);
        return;
      }
      if (kind === 'string[]') fail(`${field} is a list: use contains`);
      checkStages(field, expected, fail);
      return;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (kind !== 'number' && kind !== 'any') fail(`${op} compares numbers; ${field} is ${kind === 'string[]' ? 'a list' : `a ${kind}`}`);
      else if (typeof expected !== 'number' || !Number.isFinite(expected)) fail(`${op} needs a number`);
      return;
    case 'contains':
    case 'starts_with':
    case 'ends_with':
      if (typeof expected !== 'string') fail(`${op} needs a string`);
      else if (kind === 'number' || kind === 'boolean' || (kind === 'string[]' && op !== 'contains')) fail(`${op} does not apply to ${field}`);
      return;
    case 'eq':
    case 'ne':
      if (!isScalar(expected)) fail(`${op} needs a value (string, number or boolean)`);
      else if (kind === 'string[]') fail(`${field} is a list: use contains`);
      else if (kind !== 'any' && typeof expected !== kind) fail(`${field} is a ${kind}; got ${typeof expected}`);
      else checkStages(field, [expected], fail);
      return;
  }
}

function checkStages(field: string, values: Scalar[], fail: (message: string) => void): void {
  if (field !== 'stage') return;
  const bad = values.filter((v) => !(LEAD_STAGES as readonly unknown[]).includes(v));
  if (bad.length > 0) fail(`unknown stage ${bad.map((b) => `"${b}"`).join(', ')} (stages: ${LEAD_STAGES.join(', ')})`);
}

/** A condition; checked by hand so that each problem names its exact place and cause. */
export const ConditionSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const issues: Issues = [];
    checkCondition(value, [], issues);
    for (const issue of issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  })
  .transform((value) => value as Condition);

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

const duration = (min: number, max: number, what: string) =>
  z.string().superRefine((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (e.g. 30s, 15m, 2h, 2d, 1d12h)` });
    else if (ms < min || ms > max) ctx.addIssue({ code: 'custom', message: `${what} must be between ${min / 1000}s and ${max / 86_400_000}d` });
  });

const DAY = 86_400_000;
const name = (what: string) =>
  z.string().regex(TEMPLATE_NAME, { message: `${what} uses lower-case letters, digits and single dashes (e.g. follow-up-1)` });

// A step that holds steps of its own (branch's then/else, wait_for's on_timeout) declares
// the list as a getter (zod's recursion, typed by inference) made by nestedSteps, which
// registers it: the loader walks nested steps by NESTED_STEP_KEYS, derived from that.
type StepList = z.ZodDefault<z.ZodArray<typeof StepSchema>>;
const nestedLists = new WeakSet<z.ZodType>();
function nestedSteps(max: number): StepList {
  const list = z.array(StepSchema).max(max).default([]);
  nestedLists.add(list);
  return list;
}

const WaitStep = z.strictObject({ type: z.literal('wait'), duration: duration(1000, 365 * DAY, 'a wait') });

const WaitForStep = z
  .strictObject({
    type: z.literal('wait_for'),
    until: ConditionSchema,
    timeout: duration(60_000, 365 * DAY, 'a wait_for timeout'),
    every: duration(1000, 7 * DAY, 'the poll interval').default('1h'),
    get on_timeout(): StepList {
      return nestedSteps(50);
    },
  })
  .superRefine((step, ctx) => {
    const polls = (parseDuration(step.timeout) ?? 0) / (parseDuration(step.every) ?? 1);
    if (polls > 1000) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: `would look at the lead ${Math.ceil(polls)} times; make every at least timeout/1000` });
    }
  });

const SendEmailStep = z.strictObject({ type: z.literal('send_email'), template: name('a template name') });

const UpdateLeadStep = z
  .strictObject({
    type: z.literal('update_lead'),
    set: LeadPatch.optional(),
    add_tags: Tags.optional(),
    remove_tags: Tags.optional(),
  })
  .superRefine((step, ctx) => {
    if (!step.set && !step.add_tags?.length && !step.remove_tags?.length) {
      ctx.addIssue({ code: 'custom', message: 'update_lead needs set, add_tags or remove_tags' });
    }
    if (step.set && 'email' in step.set) {
      ctx.addIssue({ code: 'custom', path: ['set', 'email'], message: 'an automation does not change a lead\'s email' });
    }
    if (step.set && 'unsubscribed' in step.set && step.set.unsubscribed !== true) {
      ctx.addIssue({ code: 'custom', path: ['set', 'unsubscribed'], message: 'an automation may unsubscribe a lead, never subscribe one again' });
    }
    if (step.set?.tags !== undefined && (step.add_tags || step.remove_tags)) {
      ctx.addIssue({ code: 'custom', path: ['set', 'tags'], message: 'use either set.tags or add_tags/remove_tags' });
    }
  });

const CrmUpdateStep = z.strictObject({ type: z.literal('crm_update') });

const ScoreStep = z
  .strictObject({
    type: z.literal('score'),
    into: z.string().regex(CUSTOM_KEY, { message: 'into names a custom field: a letter, then letters, digits, _ . - (at most 64)' }),
    base: z.union([z.literal('lead_score'), z.int().min(-1000).max(1000)]).default(0),
    rules: z.array(z.strictObject({ if: ConditionSchema, points: z.int().min(-1000).max(1000) })).min(1).max(50),
    min: z.int().min(-1000).max(1000).default(0),
    max: z.int().min(-1000).max(1000).default(100),
  })
  .refine((s) => s.min <= s.max, { message: 'min must not be above max', path: ['min'] });

const BranchStep = z.strictObject({
  type: z.literal('branch'),
  if: ConditionSchema,
  get then(): StepList {
    return nestedSteps(50);
  },
  get else(): StepList {
    return nestedSteps(50);
  },
});

// Headers the webhook step sets itself, and with a signing secret the Standard Webhooks ones.
const RESERVED_HEADERS = new Set([
  'idempotency-key',
  'content-type',
  'content-length',
  'host',
  'connection',
  'transfer-encoding',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

/** `${SALES_TOKEN}` in a header value: read from the worker's environment when the step runs. */
export const ENV_REFERENCE = /\$\{([A-Z][A-Z0-9_]{0,63})\}/g;
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Header names whose values are credentials: such a value names its variable (`Bearer ${SALES_TOKEN}`), never holds it. */
const CREDENTIAL_HEADER = /authorization|api-?key|token|secret|password|cookie|signature|auth/i;

const WebhookStep = z.strictObject({
  type: z.literal('webhook'),
  name: name('a webhook name'),
  url: z.string().superRefine((url, ctx) => {
    if (url.startsWith('/')) return;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return;
    } catch {
      // fall through
    }
    ctx.addIssue({ code: 'custom', message: 'url is an http(s) URL, or a path (/hooks/sales) resolved against WEBHOOK_BASE_URL' });
  }),
  payload: z
    .record(z.string(), z.json())
    .refine((p) => JSON.stringify(p).length <= 8192, { message: 'payload is at most 8 KiB of JSON' })
    .optional(),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { message: 'header names use letters, digits and dashes' }),
      z.string().max(1000).regex(/^[\x20-\x7E]*$/, { message: 'header values are printable ASCII' }),
    )
    .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), {
      message: `headers must not set ${[...RESERVED_HEADERS].join(', ')}`,
    })
    .superRefine((h, ctx) => {
      for (const [header, value] of Object.entries(h)) {
        if (CREDENTIAL_HEADER.test(header) && !new RegExp(ENV_REFERENCE.source).test(value)) {
          ctx.addIssue({ code: 'custom', path: [header], message: `${header} holds a credential: write the variable that holds it (e.g. "Bearer \${SALES_TOKEN}"), not its value` });
        }
      }
    })
    .optional(),
  // The signing secret is named, never written: the worker reads it from its environment.
  secret_env: z.string().regex(ENV_NAME, { message: 'secret_env names an environment variable (e.g. SALES_WEBHOOK_SECRET)' }).optional(),
  secret: z.never({ error: 'a secret is never written in an automation file: put it in an environment variable and name it with secret_env' }).optional(),
});

const StopStep = z.strictObject({ type: z.literal('stop'), reason: z.string().max(200).optional() });

/**
 * Every step type, in the order `type must be one of …` lists them. A new step type is one
 * entry here (and its runner in src/workflows/automation-steps.ts, which the compiler asks for).
 */
const STEP_SCHEMAS = [WaitStep, WaitForStep, SendEmailStep, UpdateLeadStep, CrmUpdateStep, ScoreStep, BranchStep, WebhookStep, StopStep] as const;

export const StepSchema = z.discriminatedUnion('type', STEP_SCHEMAS, {
  error: (issue) => (issue.code === 'invalid_union' ? `type must be one of ${STEP_TYPES.join(', ')}` : undefined),
});

// After StepSchema: reading a schema's shape resolves its getters, which use StepSchema.
export const STEP_TYPES = STEP_SCHEMAS.map((schema) => schema.shape.type.value);

export type Step = z.output<typeof StepSchema>;
export type StepType = Step['type'];
export type StepOf<T extends StepType> = Extract<Step, { type: T }>;

/** The keys of each step type that hold steps of their own: `{branch: ['then', 'else'], wait_for: ['on_timeout']}`. */
export const NESTED_STEP_KEYS: Partial<Record<StepType, readonly string[]>> = Object.fromEntries(
  STEP_SCHEMAS.flatMap((schema) => {
    const keys = Object.entries(schema.shape).flatMap(([key, field]) => (nestedLists.has(field) ? [key] : []));
    return keys.length > 0 ? [[schema.shape.type.value, keys]] : [];
  }),
);

// ---------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------

export const TRIGGER_EVENTS = ['lead.created', 'lead.updated', 'manual'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export const TriggerSchema = z
  .strictObject({
    event: z.enum(TRIGGER_EVENTS, { error: `event must be one of ${TRIGGER_EVENTS.join(', ')}` }),
    when: ConditionSchema.optional(),
  })
  .superRefine((trigger, ctx) => {
    if (trigger.event === 'lead.updated' && trigger.when === undefined) {
      ctx.addIssue({ code: 'custom', path: ['when'], message: 'lead.updated needs a `when` condition (it starts a run when the condition becomes true)' });
    }
    if (trigger.event === 'manual' && trigger.when !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['when'], message: 'a manual trigger takes no condition' });
    }
  });

export const DefinitionSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().default(true),
  trigger: TriggerSchema,
  steps: z.array(StepSchema).max(100).refine((steps) => steps.length > 0, { message: 'an automation needs at least one step' }),
});

export type AutomationDefinition = z.output<typeof DefinitionSchema>;
export type Trigger = z.output<typeof TriggerSchema>;

export interface RenderableTemplate {
  subject: string;
  text: string;
  html: string;
}

/**
 * What a run is pinned to: the definition and the template sources it uses, as they were
 * when the run started, and the sha256 of those files. Passed to the run as input, so a
 * later edit of a file changes new runs only.
 */
export interface PinnedAutomation {
  id: string;
  hash: string;
  definition: AutomationDefinition;
  templates: Record<string, RenderableTemplate>;
}
