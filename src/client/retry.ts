import type { TransportOutcome } from './transport.js';

/** How hard the client tries one logical request: at most `attempts` sends, all within `budgetMs`. */
export interface RetryOptions {
  attempts?: number;
  budgetMs?: number;
}

export interface RetryPolicy {
  attempts: number;
  budgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, budgetMs: 30_000 };

/** `false` sends every request once, so the caller sees every status. */
export function retryPolicy(option: RetryOptions | false | undefined): RetryPolicy {
  if (option === false) return { attempts: 1, budgetMs: 0 };
  return { ...DEFAULT_RETRY, ...option };
}

// 503s whose code promises the request was not processed at all: safe to send again even
// without an Idempotency-Key. temporal_unavailable and timeout promise nothing (the write
// may have landed), so only a keyed write may be repeated after those.
const NOT_PROCESSED = new Set(['overloaded', 'shutting_down']);

/**
 * Whether a failed attempt may be sent again. `repeatable`: a read, or a write carrying an
 * Idempotency-Key (the API applies it once however often it arrives).
 */
export function isRetryable(outcome: TransportOutcome, repeatable: boolean): boolean {
  if (outcome.kind === 'error') return repeatable;
  // The rate limiter refuses before the route runs.
  if (outcome.status === 429) return true;
  if (outcome.status !== 503) return false;
  const code = (outcome.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return repeatable || (typeof code === 'string' && NOT_PROCESSED.has(code));
}

/** Seconds from a Retry-After header: delta-seconds, or an HTTP date. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  // HTTP dates end in GMT; Date.parse alone would take '1.5' for a date in 2001.
  const at = value.endsWith('GMT') ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Milliseconds to wait before sending attempt `attempt + 1`, or undefined to give up: the
 * attempts are spent, or waiting would overrun the budget. The API's Retry-After wins;
 * without one, exponential backoff with jitter (so many clients do not retry in step).
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  outcome: TransportOutcome,
  elapsedMs: number,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.attempts) return undefined;
  const hinted = outcome.kind === 'response' ? parseRetryAfter(outcome.headers['retry-after']) : undefined;
  const delay = hinted !== undefined ? hinted * 1000 : Math.min(5_000, 250 * 2 ** (attempt - 1)) * (0.5 + random() / 2);
  return elapsedMs + delay > policy.budgetMs ? undefined : delay;
}
