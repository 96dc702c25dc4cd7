import type { z } from 'zod';
import { LeadInput } from '../domain/lead.js';
import { HttpError, MAX_ISSUES, type Issue } from './errors.js';
import type { LeadService } from './lead-service.js';

// POST /api/leads/batch: many creates in one request. Each lead is validated on its own
// (invalid ones are answered, not fatal), the valid ones are created exactly as single POSTs
// create them (lead-writes.ts), under one deadline and at most one Idempotency-Key claim.

export const BATCH_MAX_LEADS = 500;

/**
 * Leads of one batch written to Temporal at once: enough to keep a busy server's queue full
 * (its round trips then take hundreds of ms), few enough that one batch does not crowd out
 * the single writes sharing the API process's Temporal connection.
 */
export const BATCH_WRITE_CONCURRENCY = 32;

export interface BatchItem {
  /** Place of the lead in the request's `leads`. */
  index: number;
  fields: LeadInput;
}

export interface RejectedLead {
  index: number;
  issues: Issue[];
}

export interface AcceptedAnswer {
  index: number;
  id: string;
  task_id: string;
  status: 'queued';
  deduplicated: boolean;
}

export interface RejectedAnswer {
  index: number;
  error: { code: 'invalid_lead'; message: string; issues: Issue[] };
}

export interface BatchAnswer {
  accepted: number;
  rejected: number;
  /** One per lead, in request order. */
  items: Array<AcceptedAnswer | RejectedAnswer>;
}

/** No lead of the batch is valid: a 400 like any invalid body, naming every problem as leads.N.path. */
export class NoValidLeadError extends HttpError {
  override name = 'NoValidLeadError';
  constructor(rejected: readonly RejectedLead[]) {
    const issues = rejected.flatMap((r) =>
      r.issues.map((issue) => ({ ...issue, path: issue.path === ROOT ? `leads.${r.index}` : `leads.${r.index}.${issue.path}` })),
    );
    super(400, 'invalid_request', `the request body is invalid: none of its ${rejected.length} leads is valid (${problems(issues.length)})`, issues);
  }
}

/** Path of a problem with the lead as a whole (not an object), as `(body)` is for a body. */
const ROOT = '(lead)';

const problems = (n: number) => `${n} problem${n === 1 ? '' : 's'}`;

/** Issues in the contract's shape, paths relative to the lead; an unknown field is named, as for single writes. */
export function leadIssues(error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue): Issue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: path ? `${path}.${key}` : key,
        code: 'unknown_field',
        message: 'unknown field (not part of the lead schema)',
      }));
    }
    return [{ path: path || ROOT, code: issue.code, message: issue.message }];
  });
}

/** Splits a batch into the leads to create and the ones to refuse, each keeping its index. */
export function validateBatch(leads: readonly unknown[]): { valid: BatchItem[]; rejected: RejectedLead[] } {
  const valid: BatchItem[] = [];
  const rejected: RejectedLead[] = [];
  leads.forEach((lead, index) => {
    const parsed = LeadInput.safeParse(lead);
    if (parsed.success) valid.push({ index, fields: parsed.data });
    else rejected.push({ index, issues: leadIssues(parsed.error) });
  });
  return { valid, rejected };
}

export function rejectedAnswer(r: RejectedLead): RejectedAnswer {
  return {
    index: r.index,
    error: { code: 'invalid_lead', message: `the lead is invalid (${problems(r.issues.length)})`, issues: r.issues.slice(0, MAX_ISSUES) },
  };
}

/**
 * The Idempotency-Key a batch item's task id derives from. The space cannot occur in a
 * client's key (visible ASCII only), so no single write's key can yield the same task id.
 */
export function batchItemKey(idempotencyKey: string, index: number): string {
  return `batch ${index} ${idempotencyKey}`;
}

/**
 * Runs `write` for every item: the items of one lead one after another in the order given
 * (its changes apply in arrival order, and a second create of an email must find the first
 * one's workflow started), different leads up to `concurrency` at a time. After a failure no
 * further write starts; the first error is thrown once the writes in flight have settled.
 */
export async function inLeadOrder<T, R>(
  items: readonly T[],
  leadOf: (item: T) => string,
  concurrency: number,
  write: (item: T, leadId: string) => Promise<R>,
): Promise<R[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const lead = leadOf(item);
    const group = groups.get(lead);
    if (group) group.push(i);
    else groups.set(lead, [i]);
  });
  const queue = [...groups];
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const runner = async () => {
    while (!failure && next < queue.length) {
      const [lead, group] = queue[next++]!;
      for (const i of group) {
        if (failure) return;
        try {
          results[i] = await write(items[i]!, lead);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, runner));
  if (failure) throw failure.error;
  return results;
}

/**
 * Validates each lead, creates the valid ones and answers for every lead in request order.
 * Nothing is written when no lead is valid (400). A write Temporal does not confirm fails
 * the whole request (503, see LeadWrites.createMany); a retry with the same key is safe.
 */
export async function importLeads(
  leads: LeadService,
  body: { leads: unknown[] },
  options: { idempotencyKey?: string; budgetMs?: number } = {},
): Promise<BatchAnswer> {
  const { valid, rejected } = validateBatch(body.leads);
  if (valid.length === 0) throw new NoValidLeadError(rejected);
  const { idempotencyKey, budgetMs } = options;
  const idempotency = idempotencyKey === undefined ? undefined : { key: idempotencyKey, body };
  const receipts = await leads.createMany(valid, { idempotency, budgetMs });
  const items: BatchAnswer['items'] = [
    ...valid.map((item, i): AcceptedAnswer => ({ index: item.index, ...receipts[i]! })),
    ...rejected.map(rejectedAnswer),
  ].sort((a, b) => a.index - b.index);
  return { accepted: valid.length, rejected: rejected.length, items };
}
