import { ROUTES, summarize, type LatencySummary, type RouteKey } from '../stats.js';

// A long run's figures minute by minute: each route's latencies and each process role's
// resident memory, so a run that slows down or grows as it goes shows it (issue #24: task
// reads whose p99 climbed from the first minute to the tenth).

/** A route of the load, or a call of the raw-client probe that runs beside it (no HTTP). */
export type MinuteKey = RouteKey | 'raw-create' | 'raw-put';
const KEYS: readonly MinuteKey[] = [...ROUTES, 'raw-create', 'raw-put'];

export interface MinuteRow {
  /** Minutes since the measured window started (0 = the first). */
  minute: number;
  routes: Partial<Record<MinuteKey, LatencySummary>>;
  /** Highest resident memory seen in the minute per role (the largest process of the role), MB. */
  rssMb: Record<string, number>;
}

export class MinuteRecorder {
  private readonly latencies: Array<Map<MinuteKey, number[]>> = [];
  private readonly memory: Array<Map<string, number>> = [];

  constructor(private readonly startedAt: number) {}

  /** One answered request of `route` that took `ms`. */
  answered(route: MinuteKey, ms: number, at = Date.now()): void {
    const minute = this.slot(this.latencies, at);
    const list = minute.get(route);
    if (list) list.push(ms);
    else minute.set(route, [ms]);
  }

  /** Resident memory per role now (MB), e.g. from RssTracker.current(). */
  sampled(rssMb: Record<string, number>, at = Date.now()): void {
    const minute = this.slot(this.memory, at);
    for (const [role, mb] of Object.entries(rssMb)) minute.set(role, Math.max(minute.get(role) ?? 0, mb));
  }

  rows(): MinuteRow[] {
    const count = Math.max(this.latencies.length, this.memory.length);
    const out: MinuteRow[] = [];
    for (let minute = 0; minute < count; minute++) {
      const routes: MinuteRow['routes'] = {};
      for (const route of KEYS) {
        const ms = this.latencies[minute]?.get(route);
        if (ms && ms.length > 0) routes[route] = summarize(ms);
      }
      out.push({ minute, routes, rssMb: Object.fromEntries(this.memory[minute] ?? []) });
    }
    return out;
  }

  private slot<T>(list: Array<Map<string, T>>, at: number): Map<string, T> {
    const minute = Math.max(0, Math.floor((at - this.startedAt) / 60_000));
    while (list.length <= minute) list.push(new Map());
    return list[minute]!;
  }
}
