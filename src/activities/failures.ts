import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

// Every activity failure leaves as an ApplicationFailure whose first detail records the
// attempt it happened on, so the workflow can report real attempt counts when retries
// run out. Permanent failures are non-retryable; transient ones are retried by the
// activity's retry policy, and a server's Retry-After becomes the next retry delay.

function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (unit tests)
  }
}

export function permanentFailure(type: string, message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [{ attempt: attempt() }], cause });
}

export function transientFailure(
  type: string,
  message: string,
  options: { cause?: Error; retryAfterMs?: number } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: false,
    details: [{ attempt: attempt() }],
    cause: options.cause,
    nextRetryDelay: options.retryAfterMs,
  });
}

/** Parses a Retry-After header (seconds or HTTP date) into milliseconds, capped. */
export function parseRetryAfter(value: string | null, nowMs = Date.now(), capMs = 300_000): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  // RFC 9110: delay-seconds is decimal digits only; anything else must be an HTTP date.
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - nowMs;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, capMs);
}
