import { clusterSection } from './cluster-report.js';
import type { ServerFlags } from './bench-stack.js';
import type { DrainResult } from './drain.js';
import type { LoadRun } from './load/types.js';
import type { MinuteRow } from './load/minutes.js';
import type { EngineCall } from './load/engine-time.js';
import type { BenchReport, C3Result, ImportRun } from './scenarios/context.js';
import { ROUTE_LABELS, formatMs, formatRate, formatSeconds, type LatencySummary, type RouteStats } from './stats.js';
import { endToEnd, ratio, type TargetResult } from './targets.js';
import type { FloorResult } from './floor/run.js';

// Renders a run's report as Markdown (the committed summary) and as the plain-text
// comparison printed at the end. Pure, unit-tested.

const NUMERIC = /^(-|[-+]?[\d.,]+\s*(ms|s|×|%|MB|k)?|\d+m \d+s)?$/;

/** Columns of numbers are right-aligned, text columns left-aligned. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|');
  const numeric = headers.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => NUMERIC.test((r[i] ?? '').trim())));
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 2)}%`;
const times = (x: number) => `${x.toFixed(2)} ×`;

function routeRows(run: LoadRun): string[][] {
  const label = (r: RouteStats) => ROUTE_LABELS[r.route][run.kind === 'raw' ? 'raw' : 'http'];
  return run.routes.map((r) => [
    label(r),
    formatRate(r.rps),
    formatMs(r.latency.p50),
    formatMs(r.latency.p90),
    formatMs(r.latency.p99),
    formatMs(r.latency.max),
    String(r.non2xx),
    String(r.errors),
    String(r.timeouts),
  ]);
}

const ENGINE_HEADERS = [
  'minute',
  'POST p50 (API)',
  'create in the engine p50 / mean',
  'claim in the engine p50 / mean',
  'PUT p50 (API)',
  'update in the engine p50 / mean',
  'describes',
  'persistence ops, mean',
];

/**
 * The engine's share of each write, minute by minute: the API's p50 beside the history
 * service's time for the calls it makes (bench/load/engine-time.ts), and how busy the
 * engine's persistence was.
 */
function engineRows(minutes: readonly MinuteRow[]): string[][] {
  const call = (m: MinuteRow, k: EngineCall) => {
    const c = m.engine?.calls[k];
    return c ? `${formatMs(c.p50Ms)} / ${formatMs(c.meanMs)}` : '-';
  };
  const p50 = (s: LatencySummary | undefined) => (s ? formatMs(s.p50) : '-');
  return minutes
    .filter((m) => m.engine)
    .map((m) => {
      const describes = m.engine!.calls.describe;
      const { persistence } = m.engine!;
      return [
        String(m.minute + 1),
        p50(m.routes.create),
        call(m, 'create'),
        call(m, 'claim'),
        p50(m.routes.put),
        call(m, 'update'),
        describes ? `${formatRate(describes.perSecond)}/s, p50 ${formatMs(describes.p50Ms)}` : '-',
        `${formatRate(persistence.perSecond)}/s, ${formatMs(persistence.meanMs)}`,
      ];
    });
}

const MINUTE_HEADERS = ['minute', 'POST p50 / p99', 'PUT p50 / p99', 'GET lead p50 / p99', 'GET task p50 / p99', 'raw create p50 / p99', 'raw PUT p50 / p99', 'API RSS', 'worker RSS'];

/** Latency per route and the largest API and worker process's memory, one row per minute. */
function minuteRows(minutes: readonly MinuteRow[]): string[][] {
  const pair = (s: LatencySummary | undefined) => (s ? `${formatMs(s.p50)} / ${formatMs(s.p99)}` : '-');
  const mb = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(0)} MB`);
  return minutes.map((m) => [
    String(m.minute + 1),
    pair(m.routes.create),
    pair(m.routes.put),
    pair(m.routes.get),
    pair(m.routes.task),
    pair(m.routes['raw-create']),
    pair(m.routes['raw-put']),
    mb(m.rssMb.api),
    mb(m.rssMb.worker),
  ]);
}

const ROUTE_HEADERS = ['route', 'ok/s', 'p50', 'p90', 'p99', 'max', 'non-2xx', 'errors', 'timeouts'];

/** One line per target system: the table printed at the end of a run. */
export function comparisonRows(report: BenchReport): string[][] {
  const c2 = report.c2;
  const rows: string[][] = [];
  const add = (name: string, run: LoadRun | undefined) => {
    if (!run) return;
    // Ratios to the raw client only mean something for the API.
    const vsC2 = c2 && run === report.seedMix;
    const t = run.totals;
    rows.push([
      name,
      formatRate(t.writeRps),
      formatRate(t.readRps),
      formatMs(t.latency.p50),
      formatMs(t.latency.p99),
      formatMs(t.latency.max),
      pct(t.successRate),
      String(t.resets),
      vsC2 ? times(ratio(t.writeRps, c2.totals.writeRps)) : '',
      vsC2 ? times(ratio(t.readRps, c2.totals.readRps)) : '',
    ]);
  };
  add('API (seed-mix, HTTP)', report.seedMix);
  add('C0 bare Fastify', report.c0);
  add('C2 raw Temporal client', report.c2);
  return rows;
}

export const COMPARISON_HEADERS = ['target', 'writes/s', 'reads/s', 'p50', 'p99', 'max', 'success', 'resets', 'writes vs C2', 'reads vs C2'];

function flagsLines(flags: ServerFlags | undefined): string[] {
  if (!flags) return [];
  const pragmas = Object.entries(flags.sqlitePragmas).map(([k, v]) => `${k}=${v}`).join(', ') || 'none (SQLite defaults: journal_mode=DELETE, synchronous=FULL)';
  const dyn = Object.entries(flags.dynamicConfig).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || 'none';
  return [
    `- Temporal persistence: ${flags.persistence}; SQLite pragmas: ${pragmas}; dynamic config: ${dyn}`,
    `- API processes: ${flags.apiProcesses}; worker processes: ${flags.workerProcesses} (max concurrent workflow tasks ${flags.workerMaxConcurrentWorkflowTasks}, activities ${flags.workerMaxConcurrentActivities}, cached workflows ${flags.workerMaxCachedWorkflows})`,
    `- continue-as-new after ${flags.continueAsNewAfterEvents} events; query timeout ${flags.queryTimeoutMs} ms; write timeout ${flags.writeTimeoutMs} ms; CRM rate limit ${flags.crmRateLimitPerSecond === 0 ? 'off' : `${flags.crmRateLimitPerSecond}/s`}`,
  ];
}

function runSummary(run: LoadRun): string {
  const t = run.totals;
  const sources = Object.entries(run.readSources).map(([k, v]) => `${k} ${v}`).join(', ');
  const errors = Object.entries(run.errorKinds).map(([k, v]) => `${k}: ${v}`).join('; ');
  const statuses = Object.entries(run.statusCounts).map(([k, v]) => `${k}: ${v}`).join(', ');
  return [
    `${run.connections} connections${run.offeredRate ? `, open loop at ${formatRate(run.offeredRate)} req/s offered` : ', closed loop'}, ${formatSeconds(run.warmupS)} warm-up + ${formatSeconds(run.durationS)} measured, ${run.processes} ${run.kind === 'raw' ? 'client' : 'server'} process(es).`,
    `Success ${pct(t.successRate)} (${t.ok} of ${t.attempts}), ${t.non2xx} non-2xx, ${t.errors} errors (${t.timeouts} timeouts), ${t.resets} connection resets; all requests: average ${formatMs(t.latency.mean)}, p50 ${formatMs(t.latency.p50)}, p99 ${formatMs(t.latency.p99)}, max ${formatMs(t.latency.max)}.`,
    ...(statuses ? [`Statuses: ${statuses}.`] : []),
    ...(sources ? [`Reads answered from: ${sources}.`] : []),
    ...(errors ? [`Errors: ${errors}.`] : []),
    ...(run.createRate !== undefined ? [`Leads created: ${formatRate(run.createRate)}/s.`] : []),
    ...(run.drain ? [`Drain: ${drainText(run.drain)}.`] : []),
  ].join(' ');
}

export function drainText(d: DrainResult): string {
  const v = d.verdict;
  return d.ok
    ? `passed, ${v.leadsChecked} leads / ${v.writesChecked} acknowledged writes in the CRM at their latest version and one welcome email each, drained ${formatSeconds(d.drainSeconds)} after the load stopped`
    : `FAILED${d.timedOut ? ' (timed out)' : d.stalled ? ' (nothing moved for 2 minutes)' : ''}: ${v.missingContacts} missing, ${v.behind} behind, ${v.ahead} ahead, ${v.staleContent} stale, ${v.missingEmails} without email, ${v.duplicateEmails} with duplicate emails`;
}

/** The floor, and the project's figures as shares of it. */
function floorText(c4: FloorResult, seedMix: LoadRun | undefined, c3: C3Result | undefined): string {
  const parts = [
    `${c4.leads} floor leads (each created and updated by ${c4.connections} clients; two no-op activities per batch of writes) ` +
      `done in ${formatSeconds(c4.seconds)} = **${formatRate(c4.leadsPerS)} leads/s, ${formatRate(c4.writesPerS)} writes/s**, with the stack's worker settings ` +
      `(${c4.worker.maxConcurrentWorkflowTasks} workflow tasks, ${c4.worker.maxConcurrentActivities} activities, ${c4.worker.maxCachedWorkflows} cached workflows).`,
  ];
  const e2e = endToEnd(seedMix);
  if (e2e) {
    parts.push(
      `Seed-mix end to end: ${formatRate(e2e.leadsPerS)} leads/s (${formatRate(e2e.writesPerS)} writes/s) = **${ratio(e2e.leadsPerS, c4.leadsPerS).toFixed(2)} × the floor**.`,
    );
  }
  if (c3) parts.push(`C3 (leads fully processed, preloaded): ${formatRate(c3.rate)} leads/s = ${ratio(c3.rate, c4.leadsPerS).toFixed(2)} × the floor.`);
  return parts.join(' ');
}

function c3Text(c3: C3Result): string {
  return `${c3.leads} leads preloaded in ${formatSeconds(c3.preloadS)} with the workers stopped; worker start ${formatSeconds(c3.workerStartS)}; all fully processed (CRM + welcome email) ${formatSeconds(c3.drainS)} after the first poll = **${formatRate(c3.rate)} leads/s** (${formatRate(c3.steadyRate)} leads/s between 10% and 90%)${c3.workerPeakMb !== undefined ? `; worker peak RSS ${c3.workerPeakMb.toFixed(0)} MB` : ''}. Drain check: ${drainText(c3.drain)}.`;
}

const IMPORT_HEADERS = ['path', 'leads', 'requests', 'retried', 'all accepted in', 'accepted leads/s', 'all synced in', 'synced leads/s', 'drain check'];

/** One row per import path: time to the last 202, and to every lead synced with its welcome email. */
export function importRows(runs: readonly ImportRun[]): string[][] {
  return runs.map((r) => [
    r.path === 'batch' ? `POST /api/leads/batch (${r.leadsPerRequest} per request, ${r.inFlight} in flight)` : `POST /api/leads (${r.inFlight} in flight)`,
    String(r.leads),
    String(r.requests),
    String(r.retried),
    formatSeconds(r.acceptS),
    formatRate(r.leads / r.acceptS),
    formatSeconds(r.syncedS),
    formatRate(r.leads / r.syncedS),
    r.drain.ok ? 'passed' : 'FAILED',
  ]);
}

/** How many times faster the batch path was than single POSTs, when both ran. */
export function importRatio(runs: readonly ImportRun[]): string | undefined {
  const batch = runs.find((r) => r.path === 'batch');
  const single = runs.find((r) => r.path === 'single');
  if (!batch || !single) return undefined;
  return `batch ÷ single: accepted ${times(ratio(single.acceptS, batch.acceptS))} faster, fully synced ${times(ratio(single.syncedS, batch.syncedS))} faster`;
}

function importSection(runs: readonly ImportRun[]): string[] {
  const ratioLine = importRatio(runs);
  return [
    '## Import: POST /api/leads/batch vs one POST per lead',
    '',
    markdownTable(IMPORT_HEADERS, importRows(runs)),
    '',
    ...(ratioLine ? [`${ratioLine}.`, ''] : []),
    `Each path on a fresh stack, the same leads (same emails) in the same order. Batches carry an Idempotency-Key each; single POSTs none, like seed-mix. Single POSTs keep as many requests in flight as the API keeps Temporal writes open for the batches in flight (32 per batch). *Accepted*: first request to the last 202. *Synced*: first request until every lead is in the CRM simulator at its version with exactly one welcome email (the drain check). A 503 or 429 is sent again after its Retry-After (*retried*).`,
    '',
  ];
}

const statusMark: Record<TargetResult['status'], string> = { met: 'met', 'not met': '**not met**', partial: 'partly (short run)', 'not run': 'not run' };

export function renderMarkdown(report: BenchReport, chartFile?: string, timelineFile?: string): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(`# Benchmark \`${report.scenario}\` — ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(`- Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb.toFixed(1)} GB RAM, ${m.os}; Node ${m.node}; Temporal CLI ${m.temporal}`);
  out.push(`- Commit: \`${report.git.commit}\`${report.git.dirty ? ' (with uncommitted changes)' : ''}`);
  out.push(
    `- Load average (1 min) at start ${report.loadavg.start[0]?.toFixed(2)}, at end ${report.loadavg.end?.[0]?.toFixed(2) ?? '?'}: the machine is shared (other test runs may have been running), so figures are indicative; everything runs on loopback, load generator included.`,
  );
  out.push(...flagsLines(report.flags));
  out.push('');
  if (report.failures.length > 0) {
    out.push('**This benchmark FAILED:**');
    out.push('');
    for (const f of report.failures) out.push(`- ${f}`);
    out.push('');
  }
  if (chartFile) {
    out.push(`![throughput and latency: API vs ceilings](${chartFile})`);
    out.push('');
  }
  if (timelineFile) {
    out.push('## Over each load run');
    out.push('');
    out.push('Per second from the start of the load (warm-up up to the dashed line): successful answers, p99 latency, and the backlog of leads acknowledged but not yet in the CRM with their welcome email (sampled every 5 s).');
    out.push('');
    out.push(`![throughput, p99 and backlog over each load run](${timelineFile})`);
    out.push('');
  }
  const comparison = comparisonRows(report);
  if (comparison.length > 0) {
    out.push('## API vs ceilings');
    out.push('');
    out.push(markdownTable(COMPARISON_HEADERS, comparison));
    out.push('');
  }
  if (report.targets.length > 0) {
    out.push('## Targets');
    out.push('');
    out.push(markdownTable(['target', 'measured', 'status'], report.targets.map((t) => [t.target, t.measured + (t.note ? ` — ${t.note}` : ''), statusMark[t.status]])));
    out.push('');
  }
  for (const [title, run] of [
    ['Seed-mix (API over HTTP)', report.seedMix],
    ['C0: bare Fastify, fixed answers', report.c0],
    ['C2: raw Temporal client, same calls, no HTTP', report.c2],
  ] as const) {
    if (!run) continue;
    out.push(`## ${title}`);
    out.push('');
    out.push(runSummary(run));
    out.push('');
    out.push(markdownTable(ROUTE_HEADERS, routeRows(run)));
    out.push('');
  }
  if (report.seedMix?.minutes?.length) {
    out.push('## Seed-mix minute by minute');
    out.push('');
    out.push(markdownTable(MINUTE_HEADERS, minuteRows(report.seedMix.minutes)));
    out.push('');
    const engine = engineRows(report.seedMix.minutes);
    if (engine.length > 0) {
      out.push("## The engine's time, minute by minute");
      out.push('');
      out.push(
        "Temporal's own metrics (history service): how long the server took over the calls each write makes — a create starts the lead's workflow with its change (`SignalWithStartWorkflowExecution`) after claiming a new address (`StartWorkflowExecution` of its claim record), a PUT signals the running lead — beside the API's p50 for the same writes; then how many describes the reads and address checks made, and the persistence operations per second with their mean time (queueing for the database included).",
      );
      out.push('');
      out.push(markdownTable(ENGINE_HEADERS, engine));
      out.push('');
    }
  }
  if (report.c3) {
    out.push('## C3: worker drain rate');
    out.push('');
    out.push(c3Text(report.c3));
    out.push('');
  }
  if (report.c4) {
    out.push('## C4: the floor');
    out.push('');
    out.push(floorText(report.c4, report.seedMix, report.c3));
    out.push('');
  }
  if (report.openLoop?.length) {
    out.push('## Open loop (fixed arrival rates)');
    out.push('');
    out.push(
      markdownTable(
        ['share of C2 writes', 'offered req/s', 'API ok/s', 'API p50', 'API p99', 'raw ok/s', 'raw p50', 'raw p99', 'API p99 / raw p99'],
        report.openLoop.map((p) => [
          `${Math.round(p.fraction * 100)}%`,
          formatRate(p.rate),
          formatRate(p.api.totals.rps),
          formatMs(p.api.totals.latency.p50),
          formatMs(p.api.totals.latency.p99),
          formatRate(p.raw.totals.rps),
          formatMs(p.raw.totals.latency.p50),
          formatMs(p.raw.totals.latency.p99),
          times(ratio(p.api.totals.latency.p99, p.raw.totals.latency.p99)),
        ]),
      ),
    );
    out.push('');
    out.push(
      "autocannon's `overallRate` gives each connection a budget of requests per one-second window; the raw client uses the same budget, so both see the same arrival pattern. Latencies are per request as sent (no coordinated-omission correction), the same way for both.",
    );
    out.push('');
  }
  if (report.scale) {
    out.push('## Scale');
    out.push('');
    out.push(
      markdownTable(
        ['API processes', 'worker processes', 'writes/s', 'reads/s', 'p50', 'p99', 'success', 'drain after load', 'C3 leads/s'],
        report.scale.entries.map((e) => [
          String(e.apiProcesses),
          String(e.workerProcesses),
          formatRate(e.run.totals.writeRps),
          formatRate(e.run.totals.readRps),
          formatMs(e.run.totals.latency.p50),
          formatMs(e.run.totals.latency.p99),
          pct(e.run.totals.successRate),
          e.run.drain ? (e.run.drain.ok ? formatSeconds(e.run.drain.drainSeconds) : 'FAILED') : '-',
          e.c3 ? formatRate(e.c3.rate) : '-',
        ]),
      ),
    );
    out.push('');
    const can = report.scale.canRead;
    if (can) {
      out.push(
        `Read latency, one lead with 1 write vs one with ${can.updates + 1} writes (${can.runs ?? '?'} workflow runs, continued as new: ${can.continuedAsNew ? 'yes' : 'no'}, current run ${can.historyLength ?? '?'} events; the updates took ${formatSeconds(can.updateSeconds)}; drain: ${can.drain.ok ? 'passed' : 'FAILED'}):`,
      );
      out.push('');
      out.push(
        markdownTable(
          ['lead', 'reads/s', 'p50', 'p90', 'p99', 'max'],
          [
            ['1 write', formatRate(can.oneUpdate.rps), formatMs(can.oneUpdate.p50), formatMs(can.oneUpdate.p90), formatMs(can.oneUpdate.p99), formatMs(can.oneUpdate.max)],
            [`${can.updates + 1} writes`, formatRate(can.manyUpdates.rps), formatMs(can.manyUpdates.p50), formatMs(can.manyUpdates.p90), formatMs(can.manyUpdates.p99), formatMs(can.manyUpdates.max)],
          ],
        ),
      );
      out.push('');
    }
  }
  if (report.tune) {
    out.push('## Tuning');
    out.push('');
    out.push(
      markdownTable(
        ['dev server setting', 'C2 writes/s', 'C2 reads/s', 'C2 p99', 'C3 leads/s', 'durability'],
        report.tune.server.map((e) => [
          `${e.name}: ${e.description}`,
          formatRate(e.c2.totals.writeRps),
          formatRate(e.c2.totals.readRps),
          formatMs(e.c2.totals.latency.p99),
          e.c3 ? formatRate(e.c3.rate) : '-',
          e.durability,
        ]),
      ),
    );
    out.push('');
    if (report.tune.worker.length > 0) {
      out.push(
        markdownTable(
          [`worker setting (on the ${report.tune.workerServerSetting ?? 'default'} server setting)`, 'C3 leads/s', 'steady leads/s', 'worker peak RSS'],
          report.tune.worker.map((w) => [
            w.name,
            w.c3 ? formatRate(w.c3.rate) : `failed: ${w.error ?? ''}`,
            w.c3 ? formatRate(w.c3.steadyRate) : '-',
            w.c3?.workerPeakMb !== undefined ? `${w.c3.workerPeakMb.toFixed(0)} MB` : '-',
          ]),
        ),
      );
      out.push('');
    }
    if (report.tune.recommendation) out.push(`Recommendation: ${report.tune.recommendation}.`, '');
  }
  if (report.leadImport?.length) out.push(...importSection(report.leadImport));
  if (report.clusterCompare?.length) out.push(...clusterSection(report.clusterCompare, markdownTable));
  if (report.drainChecks.length > 0) {
    out.push('## Drain checks');
    out.push('');
    out.push(
      markdownTable(
        ['after', 'leads', 'acknowledged writes', 'drained after', 'result'],
        report.drainChecks.map(({ run, result }) => [
          run,
          String(result.verdict.leadsChecked),
          String(result.verdict.writesChecked),
          formatSeconds(result.drainSeconds),
          result.ok ? 'passed' : 'FAILED',
        ]),
      ),
    );
    out.push('');
  }
  if (report.rss.length > 0) {
    out.push('## Peak memory (VmHWM)');
    out.push('');
    out.push(
      markdownTable(
        ['process', 'processes seen', 'peak RSS of one process', 'sum of peaks'],
        report.rss.map((e) => [e.role, String(e.processes), `${e.peakMb.toFixed(0)} MB`, `${e.totalPeakMb.toFixed(0)} MB`]),
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

export function renderConsole(report: BenchReport): string {
  const out: string[] = [''];
  const comparison = comparisonRows(report);
  if (comparison.length > 0) out.push(textTable(COMPARISON_HEADERS, comparison), '');
  if (report.seedMix) out.push(textTable(ROUTE_HEADERS, routeRows(report.seedMix)), '');
  if (report.c3) out.push(`C3 worker drain: ${formatRate(report.c3.rate)} leads/s (${report.c3.leads} leads in ${formatSeconds(report.c3.drainS)})`, '');
  if (report.c4) out.push(`C4 floor: ${floorText(report.c4, report.seedMix, report.c3).replaceAll('**', '')}`, '');
  if (report.leadImport?.length) out.push(textTable(IMPORT_HEADERS, importRows(report.leadImport)), importRatio(report.leadImport) ?? '', '');
  if (report.clusterCompare?.length) out.push(...clusterSection(report.clusterCompare, textTable));
  if (report.targets.length > 0) {
    out.push(textTable(['target', 'status', 'measured'], report.targets.map((t) => [t.id, t.status, t.measured])), '');
  }
  out.push(report.failures.length === 0 ? 'benchmark passed its drain checks' : `BENCHMARK FAILED:\n  ${report.failures.join('\n  ')}`);
  return out.join('\n');
}
