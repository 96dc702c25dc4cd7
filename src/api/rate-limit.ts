// The API's rate limit: a token bucket per client (an API key, or a client address when the
// API is open or no valid key is presented). A bucket holds a minute's worth of requests and
// refills continuously, so a client may burst up to its limit and then go on at limit/60 per
// second; unlike a fixed window it never lets twice the limit through across a window's edge.
// A request costs 1; a batch costs one per lead (access-control.ts, `rateCost`).

export interface RateVerdict {
  allowed: boolean;
  limit: number;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: seconds until this request's cost is available. */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  take(bucket: string, cost: number): RateVerdict | Promise<RateVerdict>;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept in this process. With several API processes the primary keeps them (cluster-rate-limit.ts). */
export function tokenBuckets(perMinute: number, now: () => number = Date.now): { take(bucket: string, cost: number): RateVerdict; size(): number } {
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();
  let prunedAt = now();
  // A bucket left alone for a minute is full, the same as no bucket: forget it, so clients
  // that came once (every address of an open API) do not pile up.
  const prune = (t: number) => {
    prunedAt = t;
    for (const [name, b] of buckets) if (b.tokens + (t - b.at) * perMs >= perMinute) buckets.delete(name);
  };
  return {
    take(name, cost) {
      const t = now();
      if (t - prunedAt >= 60_000) prune(t);
      const b = buckets.get(name);
      let tokens = b ? Math.min(perMinute, b.tokens + (t - b.at) * perMs) : perMinute;
      // More than a minute's worth (a 500-lead batch under a limit of 300) passes on a full
      // bucket, instead of never.
      const need = Math.min(cost, perMinute);
      const allowed = tokens >= need;
      if (allowed) tokens -= need;
      buckets.set(name, { tokens, at: t });
      return {
        allowed,
        limit: perMinute,
        remaining: Math.floor(tokens),
        resetSeconds: Math.ceil((perMinute - tokens) / perMs / 1000),
        retryAfterSeconds: allowed ? 0 : Math.ceil((need - tokens) / perMs / 1000),
      };
    },
    size: () => buckets.size,
  };
}
