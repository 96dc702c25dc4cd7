import type { DrainResult } from '../drain.js';
import type { FloorResult } from '../floor/run.js';
import type { BenchStack, BenchStackOptions, ServerFlags } from '../bench-stack.js';
import type { CpuShare } from '../cpu.js';
import type { LoadRun } from '../load/types.js';
import type { GitInfo, MachineInfo } from '../machine.js';
import type { RssEntry } from '../rss.js';
import type { LatencySummary } from '../stats.js';
import type { OpenLoopPoint, TargetResult } from '../targets.js';

// The options every scenario reads and the report every scenario adds to.

export interface BenchOptions {
  scenario: string;
  connections: number;
  /** Seed-mix as users who pause this long (ms, uniform 0.5-1.5x) between requests, instead of autocannon's closed loop. */
  thinkMs?: number;
  /** Measured seconds of seed-mix. */
  durationS: number;
  warmupS: number;
  /** Measured seconds of each ceiling run (C0, C2). */
  ceilingDurationS: number;
  ceilings: boolean;
  /** Leads preloaded for the worker drain rate (C3); undefined = sized from the stack's observed rate. */
  c3Leads: number | undefined;
  /** Leads of the floor (C4), each created and updated once. */
  floorLeads: number;
  openLoopDurationS: number;
  openLoopFractions: number[];
  scaleDurationS: number;
  tuneDurationS: number;
  /** Updates of the long-lived lead in the continue-as-new read test. */
  canUpdates: number;
  /** Leads the import scenario sends down each path. */
  importLeads: number;
  apiProcesses: number;
  workerProcesses: number;
  /** Dev-server settings for every scenario but tune (which tries its own). */
  sqlitePragmas: Record<string, string>;
  dynamicConfig: Record<string, unknown>;
  /** autocannon request timeout, seconds. */
  timeoutS: number;
  drainTimeoutS: number;
  outDir: string;
  /** Appended to the result file names, e.g. "wal" → 2026-01-31-seed-mix-wal.md. */
  tag?: string;
}

export interface C3Result {
  leads: number;
  preloadS: number;
  /** From spawning the worker(s) to their first poll. */
  workerStartS: number;
  /** From the first poll to the last lead fully processed (CRM + welcome email). */
  drainS: number;
  /** leads / drainS. */
  rate: number;
  /** Between 10% and 90% processed: the rate without start-up and tail. */
  steadyRate: number;
  workerEnv: Record<string, string>;
  /** Highest VmHWM of the worker processes that did the draining, MB. */
  workerPeakMb?: number;
  drain: DrainResult;
}

export interface ScaleEntry {
  apiProcesses: number;
  workerProcesses: number;
  run: LoadRun;
  c3?: C3Result;
}

export interface CanReadResult {
  updates: number;
  /** Runs of the long-lived lead's workflow (continue-as-new count + 1), when visibility can tell. */
  runs?: number;
  historyLength?: number;
  continuedAsNew: boolean;
  readSources: Record<string, Record<string, number>>;
  oneUpdate: LatencySummary & { rps: number };
  manyUpdates: LatencySummary & { rps: number };
  updateSeconds: number;
  drain: DrainResult;
}

export interface TuneServerEntry {
  name: string;
  description: string;
  durability: string;
  flags: ServerFlags;
  c2: LoadRun;
  c3?: C3Result;
  error?: string;
}

export interface TuneWorkerEntry {
  name: string;
  env: Record<string, string>;
  c3?: C3Result;
  error?: string;
}

/** One way of importing the import scenario's leads, on a fresh stack. */
export interface ImportRun {
  path: 'batch' | 'single';
  leads: number;
  /** Leads per request: 500 for batches, 1 for single POSTs. */
  leadsPerRequest: number;
  /** Requests kept in flight. */
  inFlight: number;
  /** Requests sent, retries included. */
  requests: number;
  /** Requests answered 503 or 429 (or a lost connection) and sent again. */
  retried: number;
  /** From the first request to the last 202. */
  acceptS: number;
  /** From the first request until every lead is in the CRM at its version with its welcome email. */
  syncedS: number;
  drain: DrainResult;
}

/** One target of the cluster scenario: the same steps, with CPU seconds per role over each. */
export interface ClusterCompareEntry {
  target: string;
  flags: ServerFlags;
  seedMix: LoadRun;
  c2: LoadRun;
  c3: C3Result;
  cpu: { seedMix: CpuShare[]; c2: CpuShare[]; c3: CpuShare[] };
}

export interface BenchReport {
  scenario: string;
  startedAt: string;
  finishedAt?: string;
  machine: MachineInfo;
  git: GitInfo;
  loadavg: { start: number[]; end?: number[] };
  options: BenchOptions;
  flags?: ServerFlags;
  seedMix?: LoadRun;
  c0?: LoadRun;
  c2?: LoadRun;
  c3?: C3Result;
  c4?: FloorResult;
  openLoop?: OpenLoopPoint[];
  scale?: { entries: ScaleEntry[]; canRead?: CanReadResult };
  tune?: { server: TuneServerEntry[]; worker: TuneWorkerEntry[]; recommendation?: string; workerServerSetting?: string };
  leadImport?: ImportRun[];
  clusterCompare?: ClusterCompareEntry[];
  rss: RssEntry[];
  drainChecks: Array<{ run: string; result: DrainResult }>;
  targets: TargetResult[];
  failures: string[];
}

export interface Ctx {
  options: BenchOptions;
  report: BenchReport;
  /** Short random id that keeps this run's emails apart. */
  runId: string;
}

/** RSS of a stack is read just before it stops; entries of the same role keep the highest. */
export function mergeRss(into: RssEntry[], from: readonly RssEntry[]): void {
  for (const entry of from) {
    const existing = into.find((e) => e.role === entry.role);
    if (!existing) into.push({ ...entry });
    else {
      existing.processes = Math.max(existing.processes, entry.processes);
      existing.peakMb = Math.max(existing.peakMb, entry.peakMb);
      existing.totalPeakMb = Math.max(existing.totalPeakMb, entry.totalPeakMb);
    }
  }
}

export async function withStack<T>(ctx: Ctx, stack: BenchStack, fn: (stack: BenchStack) => Promise<T>): Promise<T> {
  try {
    return await fn(stack);
  } finally {
    stack.rss.sample();
    const self = process.pid;
    stack.rss.track('bench (load generator)', () => self);
    stack.rss.sample();
    mergeRss(ctx.report.rss, stack.rss.summary());
    await stack.stop();
  }
}

/** The stack every scenario but tune runs on, from the command line. */
export function stackOptions(options: BenchOptions): BenchStackOptions {
  return {
    apiProcesses: options.apiProcesses,
    workerProcesses: options.workerProcesses,
    ...(Object.keys(options.sqlitePragmas).length ? { sqlitePragmas: options.sqlitePragmas } : {}),
    ...(Object.keys(options.dynamicConfig).length ? { dynamicConfig: options.dynamicConfig } : {}),
  };
}
