const WINDOW_MS = 1000;

/** A grant a minute older than the newest one is beyond any CRM timeout: it cannot share a second with what comes. */
const GRANTS_KEPT_MS = 60_000;

/** Timestamps of events within the last `windowMs` (a second unless told), oldest first. */
export class SlidingWindow {
  private readonly times: number[] = [];
  constructor(readonly windowMs = WINDOW_MS) {}

  count(now: number): number {
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    return this.times.length;
  }

  add(now: number): number {
    this.count(now);
    this.times.push(now);
    return this.times.length;
  }

  clear(): void {
    this.times.length = 0;
  }
}

/**
 * The peak number of grant times in one sliding second, kept as requests come in: grants
 * arrive nearly in order, so only those of the minute before the newest are kept (sorted), and a new one
 * can only change the windows within a second either side of it. Memory and work stay
 * bounded however long the simulator runs.
 */
export class GrantWindow {
  private readonly times: number[] = [];
  max = 0;

  add(grantedAt: number): void {
    const newest = Math.max(grantedAt, this.times.at(-1) ?? grantedAt);
    while (this.times.length > 0 && this.times[0]! < newest - GRANTS_KEPT_MS) this.times.shift();
    let at = this.times.length;
    while (at > 0 && this.times[at - 1]! > grantedAt) at -= 1;
    this.times.splice(at, 0, grantedAt);
    const near = this.times.filter((t) => t > grantedAt - WINDOW_MS && t < grantedAt + WINDOW_MS);
    this.max = Math.max(this.max, maxInSlidingWindow(near, WINDOW_MS));
  }
}

/** The most times that fall within one window [t, t + windowMs) of the given length. */
export function maxInSlidingWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
