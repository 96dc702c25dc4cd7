import { createHmac, timingSafeEqual } from 'node:crypto';

// Bounce and complaint events are signed the way Mailgun signs its webhooks: the body
// carries {timestamp, token, signature}, the signature being the hex HMAC-SHA256 of
// `timestamp + token` under the signing key (EMAIL_EVENTS_SECRET). The signature covers
// only those two values, so an event is trusted by three checks together: the signature,
// a timestamp within a few minutes of now, and a token never seen before.

/** The key `npm start` gives the API and the SMTP sink alike; refused in production. */
export const DEV_EMAIL_EVENTS_SECRET = 'development-only-email-events-secret';

/** How far an event's timestamp may be from now, either way (clock skew). */
export const MAX_EVENT_AGE_MS = 5 * 60_000;
/** Tokens remembered per process; at 10,000 events in 5 minutes the oldest are forgotten early. */
export const MAX_REMEMBERED_TOKENS = 10_000;

export interface EventSignature {
  /** Seconds since the epoch, as the provider wrote it (the signed text). */
  timestamp: string;
  token: string;
  /** Hex HMAC-SHA256 of timestamp + token. */
  signature: string;
}

export function signEmailEvent(secret: string, timestamp: string, token: string): string {
  return createHmac('sha256', secret).update(timestamp + token).digest('hex');
}

export type SignatureVerdict = 'valid' | 'invalid_signature' | 'stale' | 'replayed';

export interface VerifierOptions {
  maxAgeMs?: number;
  maxTokens?: number;
  now?: () => number;
}

/**
 * Checks signatures and remembers the tokens of accepted events, in this process's memory
 * only: across API processes (or after a restart) a replay is bounded by the timestamp
 * window alone, since an event older than MAX_EVENT_AGE_MS is refused everywhere.
 */
export class EmailEventVerifier {
  /** Token -> when it may be forgotten (its timestamp has left the window); insertion-ordered. */
  private readonly seen = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly maxTokens: number;
  private readonly now: () => number;

  constructor(
    private readonly secret: string,
    options: VerifierOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? MAX_EVENT_AGE_MS;
    this.maxTokens = options.maxTokens ?? MAX_REMEMBERED_TOKENS;
    this.now = options.now ?? Date.now;
  }

  /**
   * The signature first, so unsigned requests cannot fill the token memory; then the age;
   * then the token, which a valid event claims (see release()).
   */
  check(sig: EventSignature): SignatureVerdict {
    const expected = Buffer.from(signEmailEvent(this.secret, sig.timestamp, sig.token), 'hex');
    const given = Buffer.from(sig.signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid_signature';
    const at = Number(sig.timestamp) * 1000;
    const now = this.now();
    if (!Number.isFinite(at) || Math.abs(now - at) > this.maxAgeMs) return 'stale';
    this.forgetExpired(now);
    if (this.seen.has(sig.token)) return 'replayed';
    if (this.seen.size >= this.maxTokens) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(sig.token, at + this.maxAgeMs);
    return 'valid';
  }

  /** Forgets a token whose event could not be processed, so the provider's retry of it is accepted. */
  release(token: string): void {
    this.seen.delete(token);
  }

  /** Tokens remembered now (tests). */
  get remembered(): number {
    return this.seen.size;
  }

  private forgetExpired(now: number): void {
    // Insertion order is close to expiry order (timestamps are near now), so stop at the first keeper.
    for (const [token, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(token);
    }
  }
}
