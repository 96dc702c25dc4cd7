import { ROUTES, summarize, type LatencySummary, type RouteKey } from '../stats.js';
import { engineBetween, type EngineFigures, type EngineSnapshot } from './engine-time.js';

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
  /** The engine's own time over the minute (Temporal's metrics), when they were scraped. */
  engine?: EngineFigures;
}

/** A row's minute ends this much short of a full one at most (the run's last, cut by its end). */
const LEAST_MINUTE_MS = 30_000;

export class MinuteRecorder {
  private readonly latencies: Array<Map<MinuteKey, number[]>> = [];
  private readonly memory: Array<Map<string, number>> = [];
  private engineFirst: { at: number; snapshot: EngineSnapshot } | undefined;
  private readonly engineLast: Array<{ at: number; snapshot: EngineSnapshot } | undefined> = [];
  private lastAt = 0;

  constructor(private readonly startedAt: number) {}

  /** One answered request of `route` that took `ms`. */
  answered(route: MinuteKey, ms: number, at = Date.now()): void {
    const minute = this.slot(this.latencies, at);
    const list = minute.get(route);
    if (list) list.push(ms);
    else minute.set(route, [ms]);
  }

  /** A scrape of the Temporal server's metrics (engine-time.ts); the first is the baseline. */
  engineSampled(snapshot: EngineSnapshot, at = Date.now()): void {
    this.seen(at);
    if (!this.engineFirst) {
      this.engineFirst = { at, snapshot };
      return;
    }
    // A scrape closes the minute it falls in; one right on a minute's end closes that minute.
    const minute = Math.max(0, Math.ceil((at - this.startedAt) / 60_000) - 1);
    while (this.engineLast.length <= minute) this.engineLast.push(undefined);
    this.engineLast[minute] = { at, snapshot };
  }

  /** Resident memory per role now (MB), e.g. from RssTracker.current(). */
  sampled(rssMb: Record<string, number>, at = Date.now()): void {
    const minute = this.slot(this.memory, at);
    for (const [role, mb] of Object.entries(rssMb)) minute.set(role, Math.max(minute.get(role) ?? 0, mb));
  }

  /**
   * One row per minute; the last minute is left out when the run ended less than half a minute
   * into it (a handful of answers is no minute's figure).
   */
  rows(): MinuteRow[] {
    let count = Math.max(this.latencies.length, this.memory.length);
    if (count > 1 && this.lastAt - (this.startedAt + (count - 1) * 60_000) < LEAST_MINUTE_MS) count--;
    const out: MinuteRow[] = [];
    let engineFrom = this.engineFirst;
    for (let minute = 0; minute < count; minute++) {
      const routes: MinuteRow['routes'] = {};
      for (const route of KEYS) {
        const ms = this.latencies[minute]?.get(route);
        if (ms && ms.length > 0) routes[route] = summarize(ms);
      }
      const row: MinuteRow = { minute, routes, rssMb: Object.fromEntries(this.memory[minute] ?? []) };
      const engineTo = this.engineLast[minute];
      if (engineFrom && engineTo && engineTo.at > engineFrom.at) {
        row.engine = engineBetween(engineFrom.snapshot, engineTo.snapshot, (engineTo.at - engineFrom.at) / 1000);
        engineFrom = engineTo;
      }
      out.push(row);
    }
    return out;
  }

  private seen(at: number): void {
    this.lastAt = Math.max(this.lastAt, at);
  }

  private slot<T>(list: Array<Map<string, T>>, at: number): Map<string, T> {
    this.seen(at);
    const minute = Math.max(0, Math.floor((at - this.startedAt) / 60_000));
    while (list.length <= minute) list.push(new Map());
    return list[minute]!;
  }
}
