import { setTimeout as sleepFor } from 'node:timers/promises';
import type { CrmRequestGate } from './connector.js';
import type { CrmClient } from './rest.js';

/**
 * A strict sliding-window limit on CRM writes, applied where the request leaves the worker.
 *
 * Temporal's task-queue rate limit is a token bucket at the server's dispatch: it lets a
 * burst through after an idle spell, starts full again when a worker restarts, and says
 * nothing about when a dispatched task's request reaches the CRM. Measured at 8/s, the CRM
 * saw 11–12 writes in one sliding second. This limiter instead grants a send only when
 * fewer than `limit` sends were granted in the last `windowMs`, so no window of that length
 * ever holds more than `limit` sends — by construction, not on average.
 *
 * Across processes the budget is split (see crmSendBudget): each worker process owns a fixed
 * share, and a process starts with its window full (`quietStart`), so a replacement of a
 * killed worker cannot add its share to what the dead one sent just before it died.
 */
export interface SendLimiter {
  /**
   * Resolves when one send may go out now (and counts it), with the time it was granted at;
   * rejects if `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<number>;
}

export interface SendLimiterOptions {
  /** Sends allowed in any window of `windowMs`. */
  limit: number;
  windowMs: number;
  /** Count the window as full when the limiter is made: the first send waits one window. */
  quietStart?: boolean;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function createSendLimiter(options: SendLimiterOptions): SendLimiter {
  const { limit, windowMs } = options;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  // The last `limit` grant times, oldest first: a new send may go once the oldest of them has
  // left the window.
  const granted: number[] = options.quietStart ? new Array<number>(limit).fill(now()) : [];
  // Waiters are served in arrival order: each acquire waits for the one before it.
  let queue: Promise<void> = Promise.resolve();

  async function takeSlot(signal?: AbortSignal): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const t = now();
      const oldest = granted.length < limit ? undefined : granted[0];
      const wait = oldest === undefined ? 0 : oldest + windowMs - t;
      if (wait <= 0) {
        granted.push(t);
        if (granted.length > limit) granted.shift();
        return t;
      }
      await sleep(wait, signal);
    }
  }

  return {
    acquire(signal) {
      const turn = queue.then(() => takeSlot(signal));
      queue = turn.then(
        () => undefined,
        () => undefined,
      );
      return turn;
    },
  };
}

export interface CrmSendBudget {
  /** Sends this process may make in any window. */
  perProcess: number;
  windowMs: number;
}

/**
 * This process's share of the CRM's budget: `CRM_RATE_LIMIT_PER_SECOND` is for all workers
 * together, split evenly over `WORKER_PROCESSES`; the window is one second plus a margin
 * for the time a request takes to reach the CRM (a delay on one request and not the next
 * would otherwise squeeze two sends a second apart into one CRM second). Undefined = no limit.
 */
export function crmSendBudget(config: {
  CRM_RATE_LIMIT_PER_SECOND: number;
  CRM_RATE_LIMIT_MARGIN_MS: number;
  WORKER_PROCESSES: number;
}): CrmSendBudget | undefined {
  if (config.CRM_RATE_LIMIT_PER_SECOND === 0) return undefined;
  return {
    perProcess: Math.floor(config.CRM_RATE_LIMIT_PER_SECOND / config.WORKER_PROCESSES),
    windowMs: 1000 + config.CRM_RATE_LIMIT_MARGIN_MS,
  };
}

/** The CRM client with every request (upserts and deletes), retries included, let out through `limiter`. */
export function rateLimitedCrm(crm: CrmClient, limiter: SendLimiter): CrmClient {
  return {
    async upsertContact(request, signal) {
      const grantedAt = await limiter.acquire(signal);
      return crm.upsertContact({ ...request, grantedAt }, signal);
    },
    async deleteContact(externalId, signal) {
      const grantedAt = await limiter.acquire(signal);
      return crm.deleteContact(externalId, signal, { grantedAt });
    },
  };
}

export interface GateOptions {
  /** This process's share of the vendor's rolling-window limit; none = no window limit. */
  limiter?: SendLimiter | undefined;
  /** Requests the vendor's answers must leave in its window before the gate holds back: other senders (another app, a sales rep's tools) share the vendor's budget. */
  reserve?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told when the gate starts holding requests back, and why (for the worker's log). */
  onPause?: (until: number, why: string) => void;
}

/**
 * The gate a vendor connector passes every request through (connector.ts): this process's
 * share of the rolling window, and what the vendor's own headers say. A 429 or a spent daily
 * cap closes the gate for every request of the process until the vendor's time, so one
 * refusal never turns into a storm of them; a window the vendor reports as nearly spent
 * (`reserve` or fewer left) closes it for the time the window takes to free a request.
 */
export function createRequestGate(options: GateOptions = {}): CrmRequestGate & { pausedUntil(): number } {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  const reserve = options.reserve ?? 0;
  let pausedUntil = 0;

  function pause(until: number, why: string): void {
    if (until <= pausedUntil) return;
    pausedUntil = until;
    options.onPause?.(until, why);
  }

  return {
    async acquire(signal) {
      for (let wait = pausedUntil - now(); wait > 0; wait = pausedUntil - now()) await sleep(wait, signal);
      return options.limiter ? options.limiter.acquire(signal) : now();
    },
    observe(limits) {
      const t = now();
      if (limits.pauseUntil !== undefined) pause(limits.pauseUntil, 'the CRM refused a request for its rate limit');
      else if (limits.dailyRemaining !== undefined && limits.dailyRemaining <= 0) pause(t + 3_600_000, "the CRM's daily request cap is spent");
      else if (limits.remaining !== undefined && limits.windowMs !== undefined && limits.remaining <= reserve) {
        // A rolling window frees a slot each window/max on average: wait that long, not a whole window.
        pause(t + Math.max(100, Math.round(limits.windowMs / (limits.max ?? 10))), `the CRM reports ${limits.remaining} requests left in its window`);
      }
    },
    pausedUntil: () => pausedUntil,
  };
}
