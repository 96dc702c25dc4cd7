// Latency and throughput aggregation. Pure: no I/O, unit-tested.

import { parseDuration as parseDurationMs } from '../src/automations/duration.js';

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export const EMPTY_LATENCY: LatencySummary = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: ArrayLike<number>): LatencySummary {
  if (values.length === 0) return { ...EMPTY_LATENCY };
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** A growable array of latencies in milliseconds. */
export class LatencyRecorder {
  private data = new Float64Array(1024);
  private n = 0;

  push(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get length(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }

  summary(): LatencySummary {
    return summarize(this.values());
  }
}

/** The four steps of the old system's user loop, in order. */
export const ROUTES = ['create', 'get', 'put', 'task'] as const;
export type RouteKey = (typeof ROUTES)[number];
export const WRITE_ROUTES: readonly RouteKey[] = ['create', 'put'];
export const READ_ROUTES: readonly RouteKey[] = ['get', 'task'];

export const ROUTE_LABELS: Record<RouteKey, { http: string; raw: string }> = {
  create: { http: 'POST /api/leads', raw: 'workflow.start' },
  get: { http: 'GET /api/leads/:id', raw: "query 'lead'" },
  put: { http: 'PUT /api/leads/:id', raw: "signal 'leadChange'" },
  task: { http: 'GET /api/tasks/:id', raw: "query 'task'" },
};

export interface RouteStats {
  route: RouteKey;
  /** Answers received (any status). */
  responses: number;
  ok: number;
  non2xx: number;
  /** Transport errors and timeouts attributed to this route. */
  errors: number;
  timeouts: number;
  /** Successful answers per second over the measured window. */
  rps: number;
  latency: LatencySummary;
}

/** Counts and latencies of one route during one measured window. */
export class RouteRecorder {
  readonly latency = new LatencyRecorder();
  responses = 0;
  ok = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;

  constructor(readonly route: RouteKey) {}

  response(status: number, ms: number): void {
    this.responses += 1;
    if (status >= 200 && status < 300) this.ok += 1;
    else this.non2xx += 1;
    this.latency.push(ms);
  }

  failure(timeout: boolean): void {
    this.errors += 1;
    if (timeout) this.timeouts += 1;
  }

  stats(durationS: number): RouteStats {
    return {
      route: this.route,
      responses: this.responses,
      ok: this.ok,
      non2xx: this.non2xx,
      errors: this.errors,
      timeouts: this.timeouts,
      rps: durationS > 0 ? this.ok / durationS : 0,
      latency: this.latency.summary(),
    };
  }
}

export interface LoadTotals {
  /** Answers plus transport errors: every request that was sent and finished one way or another. */
  attempts: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Connection resets seen by the load generator (ECONNRESET/EPIPE, or the server closing a connection). */
  resets: number;
  /** ok / attempts. */
  successRate: number;
  rps: number;
  writeRps: number;
  readRps: number;
  latency: LatencySummary;
}

export function totalsOf(
  routes: RouteStats[],
  allLatencies: ArrayLike<number>,
  durationS: number,
  extra: { errors?: number; timeouts?: number; resets: number },
): LoadTotals {
  const sum = (pick: (r: RouteStats) => number) => routes.reduce((t, r) => t + pick(r), 0);
  // Errors not attributed to any route (e.g. a connection error between requests) count too.
  const errors = Math.max(sum((r) => r.errors), extra.errors ?? 0);
  const timeouts = Math.max(sum((r) => r.timeouts), extra.timeouts ?? 0);
  const ok = sum((r) => r.ok);
  const non2xx = sum((r) => r.non2xx);
  const attempts = ok + non2xx + errors;
  const rpsOf = (keys: readonly RouteKey[]) =>
    routes.filter((r) => keys.includes(r.route)).reduce((t, r) => t + r.rps, 0);
  return {
    attempts,
    ok,
    non2xx,
    errors,
    timeouts,
    resets: extra.resets,
    successRate: attempts > 0 ? ok / attempts : 0,
    rps: durationS > 0 ? ok / durationS : 0,
    writeRps: rpsOf(WRITE_ROUTES),
    readRps: rpsOf(READ_ROUTES),
    latency: summarize(allLatencies),
  };
}

/** Least-squares slope of y over x (units of y per unit of x); 0 with fewer than two points. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  return den === 0 ? 0 : num / den;
}

/** Connections a rate-limited run really uses: autocannon lowers the count to the rate when the rate is smaller. */
export function connectionsFor(connections: number, overallRate?: number): number {
  return overallRate ? Math.min(connections, Math.max(1, Math.round(overallRate))) : connections;
}

/**
 * Parses "60", "60s", "90s", "10m", "1m30s", "500ms" into seconds: a bare number is seconds,
 * anything else is an automation file's duration (src/automations/duration.ts, one grammar).
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const ms = parseDurationMs(trimmed);
  if (ms === undefined) throw new Error(`invalid duration "${text}" (use e.g. 60s, 10m, 1m30s)`);
  return ms / 1000;
}

/** "1m 05s", "42.0 s", "850 ms". */
export function formatSeconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  return `${m}m ${String(whole - m * 60).padStart(2, '0')}s`;
}

export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatRate(perS: number): string {
  return perS >= 100 ? perS.toFixed(0) : perS >= 10 ? perS.toFixed(1) : perS.toFixed(2);
}
