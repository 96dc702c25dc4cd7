import type { DrainResult } from '../drain.js';
import type { LoadTotals, RouteStats } from '../stats.js';
import type { MinuteRow } from './minutes.js';

export interface TimelinePoint {
  /** Seconds since the measured window started. */
  t: number;
  ok: number;
  errors: number;
  /** p99 latency of the answers in this second, ms; absent when none came (and in older reports). */
  p99Ms?: number;
}

export interface BacklogPoint {
  /** Seconds since the load (warm-up included) started. */
  t: number;
  /** Leads acknowledged to the client that have not yet reached both the CRM and the mail sink. */
  leads: number;
}

/** One measured load run against one target. */
export interface LoadRun {
  /** e.g. "API", "C0 bare Fastify", "C2 raw client". */
  label: string;
  kind: 'http' | 'raw';
  mode: 'closed' | 'open';
  connections: number;
  /** Load-generating processes (raw client) or server processes (HTTP targets). */
  processes: number;
  /** Open loop: requests per second offered over all connections. */
  offeredRate?: number;
  warmupS: number;
  durationS: number;
  routes: RouteStats[];
  totals: LoadTotals;
  statusCounts: Record<string, number>;
  /** Transport errors by code or message. */
  errorKinds: Record<string, number>;
  /** HTTP reads by `x-read-source` (workflow query or history fallback). */
  readSources: Record<string, number>;
  timeline: TimelinePoint[];
  /** Minute by minute (think-time runs): each route's latencies and each role's memory. */
  minutes?: MinuteRow[];
  backlog?: BacklogPoint[];
  drain?: DrainResult;
  /** Acknowledged creates per second over the whole run (work handed to the workers). */
  createRate?: number;
  /** The raw autocannon results (JSON output only). */
  autocannon?: unknown;
  loadavg?: { start: number[]; end: number[] };
}
