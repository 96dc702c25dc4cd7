import type { z } from 'zod';
import { LeadInput } from '../domain/lead.js';
import type { BatchItem } from '../leads/batch-writes.js';
import type { LeadService } from '../leads/lead-service.js';
import { HttpError, MAX_ISSUES, type Issue } from './errors.js';

// POST /api/leads/batch: many creates in one request. Each lead is validated on its own
// (invalid ones are answered, not fatal), the valid ones are created exactly as single POSTs
// create them (src/leads/lead-writes.ts, in the order of src/leads/batch-writes.ts), under
// one deadline and at most one Idempotency-Key claim. HTTP only: the validation and the
// answer for each lead; the lead service does the writing.

export const BATCH_MAX_LEADS = 500;

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
