import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

// Our generic signed webhook, which a CRM's own automation (a Salesforce Flow's HTTP callout)
// is configured to send: the JSON body as sent, and the header
//   X-AO-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// The timestamp is inside the signed text, so an old notice cannot be replayed with a new
// one; a notice older than maxAgeMs is refused. Several v1 values (and several secrets on
// our side) let a secret be rotated without a window where notices are refused.
// docs/salesforce.md tells a Salesforce admin how to build the Flow.

export const SIGNATURE_HEADER = 'x-ao-signature';
export const DEFAULT_MAX_AGE_MS = 5 * 60_000;

/** The header value for `body` signed with `secret` at `nowMs`. */
export function signWebhookBody(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmacHex(secret, `${t}.${body}`)}`;
}

export type WebhookVerdict = { ok: true } | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'bad_signature' };

export interface VerifyInput {
  header: string | undefined | null;
  /** The raw body exactly as received: re-serialised JSON would not match the signature. */
  body: string | Buffer;
  /** The current secret, or several while one is rotated out. */
  secret: string | readonly string[];
  now?: number;
  maxAgeMs?: number;
}

export function verifySignedWebhook(input: VerifyInput): WebhookVerdict {
  if (!input.header) return { ok: false, reason: 'missing_signature' };
  const parsed = parseHeader(input.header);
  if (!parsed) return { ok: false, reason: 'malformed_signature' };
  const now = input.now ?? Date.now();
  // Either way: a timestamp far in the future is as suspect as an old one.
  if (Math.abs(now - parsed.t * 1000) > (input.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) return { ok: false, reason: 'stale_timestamp' };
  const body = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  // Every pair is compared, match or not, so the time taken says nothing about which one matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(hmacHex(secret, `${parsed.t}.${body}`), 'hex');
    for (const given of parsed.v1) {
      if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

function parseHeader(header: string): { t: number; v1: Buffer[] } | undefined {
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value = ''] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  return t === undefined || v1.length === 0 ? undefined : { t, v1 };
}

const changedValue = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

/** One change a sales rep made to a CRM record, as the Flow's callout reports it. */
export const SalesforceChange = z.strictObject({
  /** Unique per change: the receiver drops a repeated one (the Flow's callout may be retried). */
  eventId: z.string().min(1).max(200),
  objectType: z.literal('Lead'),
  /** Our lead id, from the record's external-id field. */
  externalId: z.string().min(1).max(200),
  /** Salesforce field name -> its new value. */
  changedFields: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/), changedValue),
  changedAt: z.iso.datetime({ offset: true }),
});
export type SalesforceChange = z.infer<typeof SalesforceChange>;

export const SalesforceChangeNotice = z.strictObject({ events: z.array(SalesforceChange).min(1).max(200) });

/** The change notice in a verified body; `body` is the raw text or the parsed JSON. */
export function parseSalesforceChanges(body: unknown): { ok: true; events: SalesforceChange[] } | { ok: false; reason: string } {
  let json = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      json = JSON.parse(body.toString());
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
  }
  const parsed = SalesforceChangeNotice.safeParse(json);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
  return { ok: true, events: parsed.data.events };
}
