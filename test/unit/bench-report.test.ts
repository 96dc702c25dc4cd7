import { describe, expect, it } from 'vitest';
import { chartInputFromReport, logScale, logTicks, renderChart } from '../../bench/chart.js';
import type { DrainResult } from '../../bench/drain.js';
import type { LoadRun } from '../../bench/load/types.js';
import { comparisonRows, markdownTable, renderConsole, renderMarkdown, textTable } from '../../bench/report.js';
import { defaultOptions } from '../../bench/args.js';
import type { BenchReport } from '../../bench/scenarios/context.js';
import { recommend } from '../../bench/scenarios/tune.js';
import { backlogGrowth, evaluateTargets, ratio, type OpenLoopPoint } from '../../bench/targets.js';
import { ROUTES, summarize, totalsOf, type RouteStats } from '../../bench/stats.js';

const drainOk: DrainResult = {
  ok: true,
  timedOut: false,
  drainSeconds: 2.5,
  leads: 10,
  writes: 20,
  verdict: { ok: true, leadsChecked: 10, writesChecked: 20, missingContacts: 0, behind: 0, ahead: 0, staleContent: 0, missingEmails: 0, duplicateEmails: 0, examples: [] },
};

/** A run whose four routes each answered `rps` per second with the given latencies. */
function run(label: string, rps: number, latencies: number[], extra: Partial<LoadRun> = {}, resets = 0): LoadRun {
  const durationS = extra.durationS ?? 60;
  const routes: RouteStats[] = ROUTES.map((route) => ({
    route,
    responses: rps * durationS,
    ok: rps * durationS,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    rps,
    latency: summarize(latencies),
  }));
  return {
    label,
    kind: label.startsWith('C2') ? 'raw' : 'http',
    mode: 'closed',
    connections: 50,
    processes: 2,
    warmupS: 10,
    durationS,
    routes,
    totals: totalsOf(routes, latencies, durationS, { resets }),
    statusCounts: { '200': 1, '202': 1 },
    errorKinds: {},
    readSources: { workflow: 10 },
    timeline: [],
    ...extra,
  };
}

function report(parts: Partial<BenchReport> = {}): BenchReport {
  return {
    scenario: 'seed-mix',
    startedAt: '2026-11-27T12:00:00.000Z',
    finishedAt: '2026-11-27T12:04:00.000Z',
    machine: { cpuModel: 'Test CPU', cpus: 2, memoryGb: 8, freeMemoryGb: 4, os: 'linux 6', node: 'v20.0.0', temporal: '1.9.1 (Server 1.32.0, UI 2.54.1)', hostname: 'h' },
    git: { commit: 'abc123', dirty: false },
    loadavg: { start: [1, 1, 1], end: [2, 2, 2] },
    options: defaultOptions('/out'),
    rss: [
      { role: 'api', processes: 3, peakMb: 120, totalPeakMb: 300 },
      { role: 'worker', processes: 1, peakMb: 350, totalPeakMb: 350 },
    ],
    drainChecks: [{ run: 'seed-mix API', result: drainOk }],
    targets: [],
    failures: [],
    ...parts,
  };
}

describe('bench targets', () => {
  const c2 = run('C2 raw client', 100, [5, 10, 20]);

  it('meets the ceiling ratios at 0.85 and misses them below', () => {
    const api = run('API', 90, [6, 12, 30], { createRate: 90, drain: drainOk, backlog: [{ t: 10, leads: 5 }, { t: 40, leads: 6 }, { t: 70, leads: 5 }] });
    const targets = evaluateTargets({ seedMix: api, c2, c3: { leads: 1000, rate: 120 }, rss: report().rss, drainChecks: report().drainChecks });
    const byId = Object.fromEntries(targets.map((t) => [t.id, t]));
    expect(byId['write-ratio']!.status).toBe('met');
    expect(byId['read-ratio']!.status).toBe('met');
    expect(byId['drain-rate']!.status).toBe('met');
    expect(byId['drain-check']!.status).toBe('met');
    expect(byId['rss-api']!.status).toBe('met');
    expect(byId['rss-worker']!.status).toBe('met');
    expect(byId['open-loop']!.status).toBe('not run');
    // 60 s at 50 connections: the criteria hold, but the target is 10 minutes.
    expect(byId['old-bar']!.status).toBe('partial');

    const slow = run('API', 80, [6, 12, 30]);
    const missed = evaluateTargets({ seedMix: slow, c2, rss: [], drainChecks: [] });
    expect(missed.find((t) => t.id === 'write-ratio')!.status).toBe('not met');
    expect(missed.find((t) => t.id === 'rss-api')!.status).toBe('not run');
  });

  it("judges the old design's bar on the full ten minutes", () => {
    const full = run('API', 90, [100, 200, 900], { durationS: 600 });
    expect(evaluateTargets({ seedMix: full, rss: [], drainChecks: [] })[0]!.status).toBe('met');
    const slowMax = run('API', 90, [100, 200, 6000], { durationS: 600 });
    expect(evaluateTargets({ seedMix: slowMax, rss: [], drainChecks: [] })[0]!.status).toBe('not met');
    const resets = run('API', 90, [100], { durationS: 600 }, 1);
    expect(evaluateTargets({ seedMix: resets, rss: [], drainChecks: [] })[0]!.status).toBe('not met');
  });

  it('compares open-loop p99 at 50% with the raw client', () => {
    const point = (apiP99: number, rawP99: number): OpenLoopPoint => ({
      fraction: 0.5,
      rate: 100,
      api: run('API', 50, [1, apiP99]),
      raw: run('C2 raw client', 50, [1, rawP99]),
    });
    expect(evaluateTargets({ openLoop: [point(30, 20)], rss: [], drainChecks: [] }).find((t) => t.id === 'open-loop')!.status).toBe('met');
    expect(evaluateTargets({ openLoop: [point(50, 20)], rss: [], drainChecks: [] }).find((t) => t.id === 'open-loop')!.status).toBe('not met');
  });

  it('sees a growing backlog and a failed drain check', () => {
    const growing = run('API', 90, [5], { createRate: 20, backlog: [{ t: 10, leads: 10 }, { t: 40, leads: 100 }, { t: 70, leads: 190 }] });
    expect(backlogGrowth(growing.backlog, 10)).toBeCloseTo(3);
    const failed: DrainResult = { ...drainOk, ok: false, verdict: { ...drainOk.verdict, ok: false, staleContent: 3 } };
    const targets = evaluateTargets({ seedMix: growing, rss: [], drainChecks: [{ run: 'x', result: failed }] });
    expect(targets.find((t) => t.id === 'drain-rate')!.status).toBe('not met');
    expect(targets.find((t) => t.id === 'drain-check')!.status).toBe('not met');
    expect(ratio(1, 0)).toBe(0);
  });

  it('reads seed-mix end to end (load and drain, warm-up included) against the floor, C4', () => {
    // 10 s warm-up + 60 s load + 30 s drain = 100 s for 2,000 leads and 4,000 writes.
    const seedMix = run('API', 90, [5], { drain: { ...drainOk, leads: 2000, writes: 4000, drainSeconds: 30 } });
    const share = (floor: number) =>
      evaluateTargets({ seedMix, c4: { leadsPerS: floor, writesPerS: floor * 2 }, rss: [], drainChecks: [] }).find((t) => t.id === 'floor-share')!;
    expect(share(25).status).toBe('met'); // 20 / 25 = 0.8
    expect(share(25).measured).toContain('20.0 leads/s (40.0 writes/s) end to end vs floor 25.0 leads/s');
    expect(share(26).status).toBe('not met');
    // No floor, or a drain that timed out (its end is unknown): not judged.
    expect(evaluateTargets({ seedMix, rss: [], drainChecks: [] }).find((t) => t.id === 'floor-share')!.status).toBe('not run');
    const unfinished = run('API', 90, [5], { drain: { ...drainOk, timedOut: true } });
    expect(evaluateTargets({ seedMix: unfinished, c4: { leadsPerS: 1, writesPerS: 2 }, rss: [], drainChecks: [] }).find((t) => t.id === 'floor-share')!.status).toBe('not run');
  });

  it('recommends a durable setting only when it clearly wins', () => {
    const entry = (name: string, writes: number, durability = 'durable: fsync') => ({ name, durability, c2: run('C2 raw client', writes / 2, [1]) });
    expect(recommend([entry('default', 100), entry('wal-full', 180), entry('in-memory', 400, 'not durable')])).toMatch(/^use wal-full/);
    expect(recommend([entry('default', 100), entry('wal-full', 105)])).toMatch(/^keep the default/);
    // Within 10% of the fastest, the simpler (earlier) setting is recommended.
    expect(recommend([entry('default', 100), entry('wal-full', 140), entry('wal-full+shardIO8', 150)])).toMatch(/^use wal-full: .*within the noise/);
  });
});

describe('bench report rendering', () => {
  const c2 = run('C2 raw client', 100, [5, 10, 20]);
  const api = run('API', 90, [6, 12, 30], { drain: drainOk, createRate: 45 });
  const c0 = run('C0 bare Fastify', 2000, [1, 2]);
  const full = report({ seedMix: api, c2, c0, c3: { leads: 1000, preloadS: 3, workerStartS: 1, drainS: 8, rate: 125, steadyRate: 130, workerEnv: {}, drain: drainOk } });
  full.targets = evaluateTargets({ seedMix: api, c2, rss: full.rss, drainChecks: full.drainChecks });

  it('renders tables', () => {
    expect(markdownTable(['a', 'b'], [['x|y', '1']])).toBe('| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
    expect(textTable(['name', 'n'], [['ab', '10']]).split('\n')).toEqual(['name   n', '----  --', 'ab    10']);
  });

  it('compares the API with its ceilings', () => {
    const rows = comparisonRows(full);
    expect(rows.map((r) => r[0])).toEqual(['API (seed-mix, HTTP)', 'C0 bare Fastify', 'C2 raw Temporal client']);
    expect(rows[0]![8]).toBe('0.90 ×');
    expect(rows[2]![8]).toBe('');
  });

  it('writes a Markdown summary with machine, targets, routes, drain and memory', () => {
    const md = renderMarkdown(full, 'x.svg');
    expect(md).toContain('# Benchmark `seed-mix`');
    expect(md).toContain('2 × Test CPU');
    expect(md).toContain('Load average');
    expect(md).toContain('![throughput and latency: API vs ceilings](x.svg)');
    expect(md).toContain('| POST /api/leads |');
    expect(md).toContain("| signal 'leadChange' |");
    expect(md).toContain('## C3: worker drain rate');
    expect(md).toContain('## Targets');
    expect(md).toContain('## Peak memory (VmHWM)');
    expect(md).not.toContain('FAILED');
    const failed = renderMarkdown({ ...full, failures: ['drain check failed after seed-mix API: stale 3'] });
    expect(failed).toContain('**This benchmark FAILED:**');
    expect(renderConsole({ ...full, failures: ['x'] })).toContain('BENCHMARK FAILED');
    expect(renderConsole(full)).toContain('writes vs C2');
  });

  it('draws an SVG chart with every bar labelled', () => {
    const input = chartInputFromReport(full);
    expect(input.throughput.map((b) => b.label)).toContain('C0 bare HTTP all/s');
    expect(input.latency).toHaveLength(4);
    const svg = renderChart(input);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('POST /api/leads');
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
    const withOpenLoop = renderChart({
      ...input,
      openLoop: [
        { rate: 50, apiP50: 5, apiP99: 20, rawP50: 4, rawP99: 15 },
        { rate: 100, apiP50: 8, apiP99: 40, rawP50: 6, rawP99: 30 },
      ],
    });
    expect(withOpenLoop).toContain('Open loop');
    expect(withOpenLoop).not.toContain('NaN');
    expect(renderChart(chartInputFromReport(report()))).not.toContain('NaN');
  });

  it('spans log ticks over the data', () => {
    expect(logTicks(3, 450)).toEqual([1, 10, 100, 1000]);
    const scale = logScale([1, 10, 100], 200);
    expect(scale(10)).toBeCloseTo(100);
    expect(scale(0)).toBe(0);
    expect(scale(1e6)).toBe(200);
  });
});
