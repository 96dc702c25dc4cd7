import { createHash, randomBytes } from 'node:crypto';
import type { ChangeOp } from './lead.js';

// A lead's id never changes; its email can. Ids are random: which lead holds an email is the
// email's claim (src/identity/address-book.ts), which also makes two concurrent POSTs of one
// email land on one lead. Leads created before claims existed kept ids derived from their
// creating email (leadIdForEmail); both kinds look alike.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case RFC 4648 base32 (no padding) of the first `length * 5` bits of `bytes`. */
export function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

export const LEAD_ID_PATTERN = /^[a-z2-7]{20}$/;
export const TASK_ID_PATTERN = /^([a-z2-7]{20})\.([a-z2-7]{12})$/;

/** The id older builds derived from a lead's creating email (tests and migrations use it). */
export function leadIdForEmail(normalizedEmail: string): string {
  return base32(sha256(`lead:${normalizedEmail}`), 20);
}

/** A new lead's id: 100 random bits. */
export function newLeadId(): string {
  return base32(randomBytes(13), 20);
}

/** What a task id can be issued for: a change of the lead, or its erasure. */
export type TaskOp = ChangeOp | 'erase';

/**
 * A task id: `<lead id>.<7-character nonce><5-character check>`. The nonce is fresh, or
 * derived from the client's Idempotency-Key so a retry gets the same id; the check binds the
 * id to its lead and to the kind of change, so the API can tell an id it handed out in a 202
 * from a made-up one without asking Temporal (see issuedTaskOp).
 */
export function newTaskId(leadId: string, op: TaskOp, idempotencyKey?: string): string {
  const nonce = idempotencyKey
    ? base32(sha256(`task:${leadId}:${idempotencyKey}`), NONCE_LENGTH)
    : base32(randomBytes(5), NONCE_LENGTH);
  return `${leadId}.${nonce}${taskCheck(leadId, nonce, op)}`;
}

const NONCE_LENGTH = 7;
const TASK_OPS: readonly TaskOp[] = ['create', 'replace', 'patch', 'consent', 'erase'];
const taskCheck = (leadId: string, nonce: string, op: TaskOp) => base32(sha256(`task-check:${leadId}.${nonce}:${op}`), 5);

/**
 * The kind of change a task id was issued for, when its check holds: this API made it for a
 * write it acknowledged. Undefined for a made-up id (or one issued before ids carried a check).
 * Not a secret: it tells the API's own ids from accidents, it does not authenticate anyone.
 */
export function issuedTaskOp(taskId: string): TaskOp | undefined {
  const match = TASK_ID_PATTERN.exec(taskId);
  if (!match) return undefined;
  const [, leadId, suffix] = match as unknown as [string, string, string];
  const nonce = suffix.slice(0, NONCE_LENGTH);
  const check = suffix.slice(NONCE_LENGTH);
  return TASK_OPS.find((op) => taskCheck(leadId, nonce, op) === check);
}

export function leadIdOfTask(taskId: string): string | undefined {
  return TASK_ID_PATTERN.exec(taskId)?.[1];
}

export const leadWorkflowId = (leadId: string) => `lead-${leadId}`;
/** The erasure of a lead (src/workflows/lead-erasure.ts): kept after the lead is gone, as the proof. */
export const erasureWorkflowId = (leadId: string) => `erase-${leadId}`;

export function idempotencyRecordId(key: string): string {
  return `idem-${base32(sha256(`idem:${key}`), 26)}`;
}

export function hashBody(body: unknown): string {
  return createHash('sha256').update(stableStringify(body)).digest('hex');
}

/** JSON with sorted object keys, so equal bodies hash equally whatever their key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
