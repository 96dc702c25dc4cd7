import { loadavg } from 'node:os';
import { formatDuration, StepPlan, type PlannedStep } from '../scripts/elapsed.mjs';
import { simCounts, type SimulatorUrls } from './drain.js';
import type { BacklogPoint } from './load/types.js';
import type { RssTracker } from './rss.js';
import { formatRate } from './stats.js';

// The progress line printed while a load runs (every 5 s: elapsed, answers per second,
// errors, the backlog of leads not yet processed, the whole run's time left), the backlog
// samples it takes, and the run's plan: each step announces itself as "step k/n".

export interface Counters {
  ok: number;
  errors: number;
  non2xx: number;
  /** Creates acknowledged so far (warm-up included); omitted for targets without workers. */
  ackedCreates?: number;
  phase: string;
}

export interface MonitorOptions {
  label: string;
  totalS: number;
  counters: () => Counters;
  sim?: SimulatorUrls;
  rss?: RssTracker;
  intervalMs?: number;
}

export interface Monitor {
  stop(): BacklogPoint[];
}

export function log(line: string): void {
  const time = new Date().toISOString().slice(11, 19);
  process.stdout.write(`[bench ${time}] ${line}\n`);
}

let runPlan: StepPlan | undefined;

/** Sets the run's plan (bench/plan.ts) and says how long it may take at most. */
export function planRun(steps: readonly PlannedStep[]): void {
  runPlan = new StepPlan(steps);
  if (steps.length === 0) return;
  log(
    `plan: ${steps.length} step${steps.length > 1 ? 's' : ''}, at most ${formatDuration(runPlan.totalPlannedS)} ` +
      '(warm-up + measured time + drain timeouts; drains usually end sooner, and their unused time comes off)',
  );
}

/** Announces the next step of the run's plan: "step 3/5: seed-mix API — elapsed 2m05s, about 6m10s left". */
export function beginStep(what: string): void {
  if (runPlan && runPlan.steps.length > 0) log(runPlan.begin(what));
}

/** The whole run's time, to end progress lines with: "  — run: elapsed 2m05s, about 6m10s left"; empty without a plan. */
export function runTail(): string {
  return runPlan && runPlan.steps.length > 0 ? `  — run: ${runPlan.status()}` : '';
}

export function startMonitor(opts: MonitorOptions): Monitor {
  const started = Date.now();
  const backlog: BacklogPoint[] = [];
  let last = { at: started, ok: 0 };
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = Date.now();
      const c = opts.counters();
      // Counters restart when the warm-up ends.
      const since = c.ok >= last.ok ? c.ok - last.ok : c.ok;
      const rate = (since * 1000) / Math.max(1, now - last.at);
      last = { at: now, ok: c.ok };
      const t = (now - started) / 1000;
      let backlogText = '';
      if (opts.sim && c.ackedCreates !== undefined) {
        const counts = await simCounts(opts.sim).catch(() => undefined);
        if (counts) {
          const leads = Math.max(0, c.ackedCreates - Math.min(counts.contacts, counts.emails));
          backlog.push({ t, leads });
          backlogText = `  backlog ${leads} leads`;
        }
      }
      opts.rss?.sample();
      log(
        `${opts.label} ${c.phase} ${formatDuration(t)}/${formatDuration(opts.totalS)}  ${formatRate(rate)} ok/s  ` +
          `errors ${c.errors}  non-2xx ${c.non2xx}${backlogText}  load ${loadavg()[0]!.toFixed(2)}${runTail()}`,
      );
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 5000);
  return {
    stop() {
      clearInterval(timer);
      return backlog;
    },
  };
}
