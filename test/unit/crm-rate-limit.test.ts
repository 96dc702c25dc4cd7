import { describe, expect, it } from 'vitest';
import { createSendLimiter, crmSendBudget, rateLimitedCrm } from '../../src/activities/crm/rate-limit.js';
import type { CrmClient } from '../../src/activities/crm/rest.js';

/** A clock that only moves when the limiter sleeps, so every grant time is exact. */
function fakeClock(start = 0) {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      t += ms;
      await Promise.resolve();
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** The largest number of times in any half-open window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    const start = times[i]!;
    best = Math.max(best, times.filter((t) => t >= start && t < start + windowMs).length);
  }
  return best;
}

describe('send limiter', () => {
  it('lets `limit` sends through at once, then one per freed slot', async () => {
    const clock = fakeClock();
    const limiter = createSendLimiter({ limit: 3, windowMs: 1000, ...clock });
    const grants: number[] = [];
    for (let i = 0; i < 7; i++) grants.push(await limiter.acquire());
    expect(grants).toEqual([0, 0, 0, 1000, 1000, 1000, 2000]);
  });

  it('never grants more than `limit` in any sliding window, whatever the arrival pattern', async () => {
    // The shape that broke the task-queue limit: idle, then a burst, then steady demand.
    const clock = fakeClock();
    const limiter = createSendLimiter({ limit: 8, windowMs: 1100, ...clock });
    const grants: number[] = [];
    const arrivals = [0, 0, 0, 30, 500, 990, 999, 1000, 1001, 1500, 1600, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000, 3000];
    for (const at of arrivals) {
      if (clock.now() < at) clock.advance(at - clock.now());
      await limiter.acquire();
      grants.push(clock.now());
    }
    expect(grants).toHaveLength(arrivals.length);
    expect(maxInWindow(grants, 1100)).toBe(8);
  });

  it('serves concurrent callers in arrival order', async () => {
    const clock = fakeClock();
    const limiter = createSendLimiter({ limit: 1, windowMs: 100, ...clock });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((n) => limiter.acquire().then(() => order.push(n))));
    expect(order).toEqual([0, 1, 2, 3]);
    expect(clock.now()).toBe(300);
  });

  it('starts with its window full when asked, so a restarted process waits one window', async () => {
    const clock = fakeClock(5000);
    const limiter = createSendLimiter({ limit: 4, windowMs: 1000, quietStart: true, ...clock });
    await limiter.acquire();
    expect(clock.now()).toBe(6000);
  });

  it('gives up on an aborted wait without taking a slot or blocking the callers behind it', async () => {
    const limiter = createSendLimiter({ limit: 1, windowMs: 60_000 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('activity cancelled'));
    await expect(waiting).rejects.toThrow('activity cancelled');

    const clock = fakeClock();
    const fresh = createSendLimiter({ limit: 1, windowMs: 100, ...clock });
    await fresh.acquire();
    const gone = new AbortController();
    gone.abort();
    await expect(fresh.acquire(gone.signal)).rejects.toThrow();
    await fresh.acquire();
    expect(clock.now()).toBe(100);
  });

  it('refuses a limit below one', () => {
    expect(() => createSendLimiter({ limit: 0, windowMs: 1000 })).toThrow(RangeError);
  });
});

describe('CRM send budget', () => {
  it('splits the limit over the worker processes and widens the window by the margin', () => {
    expect(crmSendBudget({ CRM_RATE_LIMIT_PER_SECOND: 50, CRM_RATE_LIMIT_MARGIN_MS: 100, WORKER_PROCESSES: 2 })).toEqual({
      perProcess: 25,
      windowMs: 1100,
    });
    expect(crmSendBudget({ CRM_RATE_LIMIT_PER_SECOND: 8, CRM_RATE_LIMIT_MARGIN_MS: 0, WORKER_PROCESSES: 3 })).toEqual({
      perProcess: 2,
      windowMs: 1000,
    });
    expect(crmSendBudget({ CRM_RATE_LIMIT_PER_SECOND: 0, CRM_RATE_LIMIT_MARGIN_MS: 100, WORKER_PROCESSES: 1 })).toBeUndefined();
  });

  it('makes every CRM request, retries included, wait for the limiter', async () => {
    const clock = fakeClock();
    const sentAt: number[] = [];
    const crm: CrmClient = {
      upsertContact: async (request) => {
        sentAt.push(clock.now());
        return { created: false, version: request.version, stale: false };
      },
      deleteContact: async () => {
        sentAt.push(clock.now());
        return { deleted: true };
      },
    };
    const granted: Array<number | undefined> = [];
    const recording: CrmClient = {
      upsertContact: async (request, signal) => {
        granted.push(request.grantedAt);
        return crm.upsertContact(request, signal);
      },
      deleteContact: async (externalId, signal, sent) => {
        granted.push(sent?.grantedAt);
        return crm.deleteContact(externalId, signal, sent);
      },
    };
    const limited = rateLimitedCrm(recording, createSendLimiter({ limit: 2, windowMs: 1000, ...clock }));
    for (let v = 1; v <= 5; v++) {
      await limited.upsertContact({ externalId: 'l', version: v, lead: {} as never, idempotencyKey: `l:${v}` });
    }
    // A delete is a write to the CRM like any other: it takes its turn in the same window.
    expect(await limited.deleteContact('l')).toEqual({ deleted: true });
    expect(sentAt).toEqual([0, 0, 1000, 1000, 2000, 2000]);
    // Each request carries the time its send was granted, for the CRM simulator to measure.
    expect(granted).toEqual([0, 0, 1000, 1000, 2000, 2000]);
  });
});
