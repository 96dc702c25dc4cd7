import { describe, expect, it } from 'vitest';
import { parseAbArgs } from '../../bench/ab.js';
import { abPanels, renderAbChart } from '../../bench/ab/chart.js';
import { roleOfCmdline, type SideUsage } from '../../bench/ab/usage.js';
import { fastPathTargets, median, renderAbMarkdown, roundOrder, roundRatios, summarizeSide, type AbSample } from '../../bench/ab/compare.js';

const sample = (side: 'base' | 'head', round: number, rps: number, p99Ms: number, extra: Partial<AbSample> = {}): AbSample => ({
  side,
  round,
  rps,
  writeRps: rps / 2,
  successRate: 1,
  p50Ms: p99Ms / 4,
  p99Ms,
  maxMs: p99Ms * 2,
  readP50Ms: 10,
  readP99Ms: 50,
  historyReads: 0,
  reads: 100,
  drainSeconds: 3,
  drained: true,
  ...extra,
});

/** A closed-loop report of `samples`, base `main` against the working tree. */
const report = (samples: AbSample[]) =>
  renderAbMarkdown({
    startedAt: '2026-12-02T08:00:00Z',
    machine: '2 × test cpu',
    command: 'npm run bench -- ab --base main',
    connections: 50,
    durationS: 30,
    warmupS: 5,
    sides: [
      { name: 'base', ref: 'main', commit: 'aaaaaaaaaaaa' },
      { name: 'head', ref: 'working tree', commit: 'bbbbbbbbbbbb' },
    ],
    samples,
  });

describe('A/B comparison', () => {
  it('alternates which side goes first', () => {
    expect([1, 2, 3, 4].map(roundOrder)).toEqual([
      ['base', 'head'],
      ['head', 'base'],
      ['base', 'head'],
      ['head', 'base'],
    ]);
  });

  it('takes medians per side and ratios within each round', () => {
    const samples = [
      sample('base', 1, 100, 2000),
      sample('head', 1, 300, 400),
      sample('head', 2, 280, 500, { successRate: 0.99, historyReads: 10 }),
      sample('base', 2, 50, 4000, { drained: false }),
      sample('base', 3, 110, 1800),
      sample('head', 3, 330, 300),
    ];
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(roundRatios(samples, (s) => s.rps)).toEqual([3, 5.6, 3]);
    const head = summarizeSide('head', samples);
    expect(head).toMatchObject({ rounds: 3, rps: 300, p99Ms: 400, maxMs: 1000, successRate: 0.99, allDrained: true });
    expect(head.historyReadShare).toBeCloseTo(10 / 300);
    expect(summarizeSide('base', samples)).toMatchObject({ rps: 100, allDrained: false });

    const md = report(samples);
    expect(md).toContain('req/s 3.00×, 5.60×, 3.00× (median 3.00×)');
    expect(md).toContain('| base (main, aaaaaaaaaaaa) |');
    expect(md).toContain('(NOT all drained)');
  });

  it("judges issue #9's closed-loop targets from the per-round ratios and the cost per lead, and only for that shape", () => {
    const cost = (events: number, workflowTasks: number, visibilityWrites: number) => ({ leads: 10, events, workflowTasks, activityTasks: 2, localActivityMarkers: 2, visibilityWrites, signals: 1 });
    const samples = [
      sample('base', 1, 100, 1000, { cost: cost(35, 4.5, 6.5) }),
      sample('head', 1, 360, 280, { cost: cost(17, 2.3, 3.2) }),
      sample('head', 2, 300, 300, { cost: cost(17, 2.3, 3.2), historyReads: 1 }),
      sample('base', 2, 100, 1000, { cost: cost(35, 4.5, 6.5) }),
    ];
    const verdicts = Object.fromEntries(fastPathTargets(samples).map((t) => [t.target, t.met]));
    expect(verdicts).toEqual({
      '1. req/s ≥ 3.5× base': false, // rounds 3.6× and 3.0×: the median 3.3× falls short
      '1. p99 ≤ 0.3× base': true, // 0.28× and 0.30×
      '1. 100% success': true,
      '1. no read answered from history under load': false,
      '4. history events per lead ≤ 0.5× base': true,
      '4. workflow tasks per lead ≤ 0.5× base': false,
      '4. visibility writes per lead ≤ 0.5× base': true,
    });
    expect(fastPathTargets(samples, { thinkMs: 1000 })).toEqual([]);
    expect(fastPathTargets(samples, { crmLatencyMs: [5000, 10000] })).toEqual([]);
  });

  it('draws each round of each side, read latency per side and, when counted, the work per lead', () => {
    const cost = (events: number) => ({ leads: 10, events, workflowTasks: 2, activityTasks: 2, localActivityMarkers: 2, visibilityWrites: 3, signals: 1 });
    const samples = [sample('head', 1, 300, 400, { cost: cost(18) }), sample('base', 1, 100, 2000, { cost: cost(35) }), sample('base', 2, 120, 1800), sample('head', 2, 330, 300)];
    const panels = abPanels(samples);
    expect(panels.map((p) => p.bars.length)).toEqual([4, 4, 4, 2, 2, 2]);
    expect(panels[0]!.bars.map((b) => `${b.label}=${b.value}`)).toEqual(['round 1, base=100', 'round 1, head=300', 'round 2, base=120', 'round 2, head=330']);
    expect(panels[3]!.bars.map((b) => b.shown)).toEqual(['35.0', '18.0']);
    expect(abPanels(samples.map(({ cost: _c, ...s }) => s))).toHaveLength(3);
    const svg = renderAbChart('A/B: <tree> against main', samples);
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(svg).toContain('A/B: &lt;tree&gt; against main');
    // Linear from zero: head's 330 req/s bar is 330/100 times base's 100.
    const widths = [...svg.matchAll(/<rect x="230" y="[\d.]+" width="([\d.]+)"/g)].slice(0, 4).map((m) => Number(m[1]));
    expect(widths[3]! / widths[0]!).toBeCloseTo(3.3, 1);
  });

  it('tells the parts of a side by their command lines, and shows CPU per lead and peak memory per part', () => {
    const cmd = (...args: string[]) => `${args.join('\0')}\0`;
    expect(roleOfCmdline(cmd('/w/.tools/temporal/bin/temporal', 'server', 'start-dev', '--port', '1'))).toBe('temporal');
    expect(roleOfCmdline(cmd('/w/node', '/w/.data/ab/x/dist/src/api/server.js'))).toBe('api');
    expect(roleOfCmdline(cmd('/w/node', '/w/dist/worker/main.js'))).toBe('worker');
    expect(roleOfCmdline(cmd('/w/node', '/w/dist/tooling/simulators/main.js', 'crm'))).toBeUndefined();
    expect(roleOfCmdline(cmd('/w/node', '/w/dist/scripts/stack.js'))).toBeUndefined();
    expect(roleOfCmdline(cmd('/usr/bin/temporal', 'workflow', 'list'))).toBeUndefined();

    const usage = (worker: number, apiRss: number): SideUsage => ({ cpuSeconds: { temporal: 10, api: 4, worker }, peakRssMb: { temporal: 400, api: apiRss, worker: 350 } });
    const samples = [
      sample('base', 1, 100, 1000, { usage: usage(8, 160), leads: 100 }),
      sample('head', 1, 100, 1000, { usage: usage(4, 140), leads: 100 }),
      sample('head', 2, 100, 1000, { usage: usage(6, 150), leads: 200 }),
      sample('base', 2, 100, 1000, { usage: usage(16, 170), leads: 200 }),
    ];
    // Per lead: base worker 80 ms in both rounds; head 40 and 30 ms, median 35.
    expect(summarizeSide('head', samples)).toMatchObject({ cpuMsPerLead: { temporal: 75, api: 30, worker: 35 }, peakRssMb: { api: 145 } });
    const md = report(samples);
    expect(md).toContain('| worker | 80.0 | 35.0 | 0.44× | 350 | 350 | 1.00× |');
    expect(md).toContain('| API (every process) | 30.0 | 30.0 | 1.00× | 165 | 145 | 0.88× |');
    expect(md).toContain('| all three | 185.0 | 140.0 | 0.76× |');
    expect(summarizeSide('base', [sample('base', 1, 1, 1)]).cpuMsPerLead).toBeUndefined();
  });

  it('needs a base and refuses unknown flags', () => {
    expect(() => parseAbArgs([], '/out')).toThrow(/--base is required/);
    expect(() => parseAbArgs(['--base', 'main', '--what', '1'], '/out')).toThrow(/unknown flag --what/);
    expect(parseAbArgs(['--base', 'main', '--rounds', '2', '--duration', '1m', '--env', 'A=b=c'], '/out')).toMatchObject({
      base: 'main',
      rounds: 2,
      durationS: 60,
      env: { A: 'b=c' },
      outDir: '/out',
    });
    expect(parseAbArgs(['--base', 'main', '--think', '1s'], '/out')).toMatchObject({ thinkMs: 1000 });
  });
});

describe('Temporal cost per lead', () => {
  it('counts events, workflow and activity tasks, local-activity markers and visibility writes', async () => {
    const { default: proto } = await import('@temporalio/proto');
    const { costOfHistory, averageCost } = await import('../../bench/ab/cost.js');
    const T = proto.temporal.api.enums.v1.EventType;
    const wft = [T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, T.EVENT_TYPE_WORKFLOW_TASK_STARTED, T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED];
    const types = [
      T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      ...wft,
      T.EVENT_TYPE_MARKER_RECORDED,
      T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
      T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
      T.EVENT_TYPE_ACTIVITY_TASK_STARTED,
      T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
      ...wft,
      T.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
      T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
      T.EVENT_TYPE_MARKER_RECORDED,
    ];
    const cost = costOfHistory(types, ['core_local_activity', 'core_patch']);
    expect(cost).toEqual({ events: 15, workflowTasks: 2, activityTasks: 1, localActivityMarkers: 1, visibilityWrites: 3, signals: 1 });
    expect(averageCost([cost, { ...cost, events: 25 }])).toMatchObject({ leads: 2, events: 20, workflowTasks: 2 });
  });
});
