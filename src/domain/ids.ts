import { createHash, randomBytes } from 'node:crypto';

// Lead ids are derived from the normalized email the lead was created with, so two
// concurrent POSTs of one email land on the same Temporal workflow id and Temporal's
// own uniqueness guarantee does the deduplication: no lock, no lookup table.

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

export function leadIdForEmail(normalizedEmail: string): string {
  return base32(sha256(`lead:${normalizedEmail}`), 20);
}

/** A fresh task id, or a stable one when the client sent an Idempotency-Key. */
export function newTaskId(leadId: string, idempotencyKey?: string): string {
  const suffix = idempotencyKey
    ? base32(sha256(`task:${leadId}:${idempotencyKey}`), 12)
    : base32(randomBytes(8), 12);
  return `${leadId}.${suffix}`;
}

export function leadIdOfTask(taskId: string): string | undefined {
  return TASK_ID_PATTERN.exec(taskId)?.[1];
}

export const leadWorkflowId = (leadId: string) => `lead-${leadId}`;

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
