import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * HubSpot webhooks as the orchestrator receives them: the v3 signature check and the
 * `contact.propertyChange` events they carry. Pure functions: the API route that receives them
 * passes the raw body and the URL HubSpot called.
 */

export interface SignatureInput {
  method: string;
  /** The full URL HubSpot called (scheme, host, path and query), as configured in the app: behind a proxy, not the one the server sees. */
  uri: string;
  /** The raw request body, exactly as received (a re-serialised body does not verify). */
  body: string;
  /** `X-HubSpot-Request-Timestamp` (epoch ms). */
  timestamp: string | undefined;
  /** `X-HubSpot-Signature-v3`. */
  signature: string | undefined;
  /** The app's client secret. */
  clientSecret: string;
  now: number;
  maxAgeMs?: number;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** HubSpot refuses to vouch for a request older than this, and so do we: a replayed capture is too old. */
export const MAX_WEBHOOK_AGE_MS = 300_000;

/**
 * HubSpot's v3 signature: base64 HMAC-SHA256 keyed by the client secret over method + URI + body +
 * timestamp. HubSpot decodes some percent-encoded characters of the URI before signing
 * (`%3A` → `:`, `%2F` → `/`, `%3F` → `?`, `%40` → `@`, `%21` → `!`, `%24` → `$`, `%27` → `'`,
 * `%28` → `(`, `%29` → `)`, `%2A` → `*`, `%2C` → `,`, `%3B` → `;`), so the URI is decoded alike.
 */
export function verifyHubSpotSignatureV3(input: SignatureInput): SignatureCheck {
  const { timestamp, signature } = input;
  if (!signature) return { ok: false, reason: 'missing X-HubSpot-Signature-v3' };
  if (!timestamp || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing or malformed X-HubSpot-Request-Timestamp' };
  const age = input.now - Number(timestamp);
  const maxAge = input.maxAgeMs ?? MAX_WEBHOOK_AGE_MS;
  if (age > maxAge) return { ok: false, reason: `request is ${Math.round(age / 1000)} s old (at most ${maxAge / 1000} s)` };
  // A timestamp ahead of our clock by more than the same margin is as suspect as an old one.
  if (-age > maxAge) return { ok: false, reason: 'request timestamp is in the future' };

  const expected = createHmac('sha256', input.clientSecret)
    .update(`${input.method.toUpperCase()}${decodeSignedUri(input.uri)}${input.body}${timestamp}`, 'utf8')
    .digest();
  const given = Buffer.from(signature, 'base64');
  // timingSafeEqual needs equal lengths; a length mismatch reveals nothing about the expected value.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

const SIGNED_URI_DECODES: Record<string, string> = {
  '%3A': ':', '%2F': '/', '%3F': '?', '%40': '@', '%21': '!', '%24': '$',
  '%27': "'", '%28': '(', '%29': ')', '%2A': '*', '%2C': ',', '%3B': ';',
};

function decodeSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (code) => SIGNED_URI_DECODES[code.toUpperCase()] ?? code);
}

const PropertyChangeEvent = z.object({
  eventId: z.number(),
  subscriptionId: z.number(),
  portalId: z.number(),
  appId: z.number(),
  occurredAt: z.number(),
  subscriptionType: z.literal('contact.propertyChange'),
  attemptNumber: z.number(),
  objectId: z.number(),
  propertyName: z.string(),
  propertyValue: z.string(),
  changeSource: z.string(),
  sourceId: z.string().optional(),
});
export type HubSpotPropertyChange = z.infer<typeof PropertyChangeEvent>;

const AnyEvent = z.looseObject({ subscriptionType: z.string() });

export type ParsedEvents = { ok: true; events: HubSpotPropertyChange[]; ignored: number } | { ok: false; reason: string };

/**
 * The `contact.propertyChange` events of a webhook body (HubSpot sends an array of up to 100
 * events); events of other subscription types are counted in `ignored`. A malformed body, or a
 * propertyChange event without its fields, refuses the whole body: HubSpot then retries it, and a
 * partly read batch would lose the events dropped.
 */
export function parseHubSpotEvents(body: unknown): ParsedEvents {
  const list = z.array(AnyEvent).safeParse(body);
  if (!list.success) return { ok: false, reason: 'body is not an array of HubSpot events' };
  const events: HubSpotPropertyChange[] = [];
  let ignored = 0;
  for (const [index, raw] of list.data.entries()) {
    if (raw.subscriptionType !== 'contact.propertyChange') {
      ignored += 1;
      continue;
    }
    const event = PropertyChangeEvent.safeParse(raw);
    if (!event.success) return { ok: false, reason: `event ${index}: ${event.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
    events.push(event.data);
  }
  return { ok: true, events, ignored };
}
