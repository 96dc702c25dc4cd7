import type { SimulatorUrls, WriteLedger } from '../drain.js';
import { startMonitor, type Monitor } from '../progress.js';
import type { RssTracker } from '../rss.js';
import { MinuteRecorder } from './minutes.js';
import { LatencyRecorder, ROUTES, RouteRecorder, summarize, totalsOf, type RouteKey } from '../stats.js';
import type { LoadRun, TimelinePoint } from './types.js';

/** A load run's counters for its measured window; a driver replaces it when the warm-up ends. */
export class MeasureWindow {
  readonly routes = new Map<RouteKey, RouteRecorder>(ROUTES.map((r) => [r, new RouteRecorder(r)]));
  readonly all = new LatencyRecorder();
  readonly statusCounts: Record<string, number> = {};
  readonly errorKinds: Record<string, number> = {};
  readonly readSources: Record<string, number> = {};
  readonly perSecond: TimelinePoint[] = [];
  /** Per-minute latencies and memory (the user load records them; see minutes.ts). */
  readonly minutes: MinuteRecorder;
  /** Latencies of each second's answers, for the timeline's p99. */
  private readonly perSecondMs: number[][] = [];
  errors = 0;
  timeouts = 0;
  resets = 0;
  non2xx = 0;
  ok = 0;
  constructor(readonly startedAt: number) {
    this.minutes = new MinuteRecorder(startedAt);
  }

  /** What the window measured, as a load run reports it, over `durationS` seconds. */
  measured(durationS: number): Pick<LoadRun, 'durationS' | 'routes' | 'totals' | 'statusCounts' | 'errorKinds' | 'readSources' | 'timeline'> {
    const routes = ROUTES.map((r) => this.routes.get(r)!.stats(durationS));
    return {
      durationS,
      routes,
      totals: totalsOf(routes, this.all.values(), durationS, { errors: this.errors, timeouts: this.timeouts, resets: this.resets }),
      statusCounts: this.statusCounts,
      errorKinds: this.errorKinds,
      readSources: this.readSources,
      timeline: withP99(this.perSecond, this.perSecondMs),
    };
  }

  /** Counts an answer's latency in the current second (for the timeline's p99). */
  answered(ms: number): void {
    const t = this.second().t;
    while (this.perSecondMs.length <= t) this.perSecondMs.push([]);
    this.perSecondMs[t]!.push(ms);
  }

  /** The timeline point of the current second. */
  second(): TimelinePoint {
    const t = Math.floor((Date.now() - this.startedAt) / 1000);
    while (this.perSecond.length <= t) this.perSecond.push({ t: this.perSecond.length, ok: 0, errors: 0 });
    return this.perSecond[t]!;
  }
}

/** The timeline with each second's p99 latency from `latencies[t]` (seconds without answers keep none). */
export function withP99(points: readonly TimelinePoint[], latencies: ReadonlyArray<readonly number[] | undefined>): TimelinePoint[] {
  return points.map((p) => {
    const ms = latencies[p.t];
    return ms && ms.length > 0 ? { ...p, p99Ms: summarize(ms).p99 } : { ...p };
  });
}

/** The progress line of a load run: counts from whichever window is current, backlog, RSS. */
export function monitorLoad(
  opts: { label: string; warmupS: number; durationS: number; ledger?: WriteLedger | undefined; sim?: SimulatorUrls | undefined; rss?: RssTracker | undefined },
  current: () => { window: MeasureWindow; phase: string },
): Monitor {
  return startMonitor({
    label: opts.label,
    totalS: opts.warmupS + opts.durationS,
    counters: () => {
      const { window, phase } = current();
      return {
        ok: window.ok,
        errors: window.errors,
        non2xx: window.non2xx,
        ...(opts.ledger ? { ackedCreates: opts.ledger.ackedCreates } : {}),
        phase,
      };
    },
    sim: opts.sim,
    rss: opts.rss,
  });
}
