import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../bench/args.js';
import type { LoadRun } from '../../bench/load/types.js';
import { withP99 } from '../../bench/load/window.js';
import { renderMarkdown } from '../../bench/report.js';
import type { BenchReport } from '../../bench/scenarios/context.js';
import { EMPTY_LATENCY } from '../../bench/stats.js';
import { loadRunsOf, niceMax, renderTimelineChart, runTimeline, timePanel, type RunTimeline } from '../../bench/timeline-chart.js';

const polylines = (svg: string) => svg.match(/<polyline /g)?.length ?? 0;

function loadRun(label: string, extra: Partial<LoadRun> = {}): LoadRun {
  return {
    label,
    kind: 'http',
    mode: 'closed',
    connections: 10,
    processes: 1,
    warmupS: 2,
    durationS: 3,
    routes: [],
    totals: { latency: { ...EMPTY_LATENCY } } as LoadRun['totals'],
    statusCounts: {},
    errorKinds: {},
    readSources: {},
    timeline: [
      { t: 0, ok: 100, errors: 0, p99Ms: 40 },
      { t: 1, ok: 120, errors: 1, p99Ms: 55 },
      { t: 2, ok: 0, errors: 3 },
    ],
    backlog: [{ t: 5, leads: 12 }],
    ...extra,
  };
}

describe('withP99', () => {
  it('adds each second’s p99 and leaves seconds without answers without one', () => {
    const points = withP99(
      [
        { t: 0, ok: 2, errors: 0 },
        { t: 1, ok: 0, errors: 1 },
      ],
      [Array.from({ length: 100 }, (_, i) => i + 1)],
    );
    expect(points[0]!.p99Ms).toBe(99);
    expect(points[1]).toEqual({ t: 1, ok: 0, errors: 1 });
  });
});

describe('niceMax', () => {
  it('rounds an axis top up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(120)).toBe(200);
    expect(niceMax(430)).toBe(500);
    expect(niceMax(1000)).toBe(1000);
  });
});

describe('timePanel', () => {
  const panel = { title: 'p99 latency per second', unit: 'ms', color: '#d94801', totalS: 70, markS: 10 };

  it('draws one polyline with the y axis labelled in its unit and the x axis in seconds', () => {
    const { svg } = timePanel({ ...panel, points: [{ t: 10, v: 40 }, { t: 11, v: 180 }] }, 0, 0, 300);
    expect(polylines(svg)).toBe(1);
    expect(svg).toContain('200 ms');
    expect(svg).toContain('>100<');
    expect(svg).toContain('>0<');
    expect(svg).toContain('>0 s<');
    expect(svg).toContain('>70 s<');
    expect(svg).toContain('stroke-dasharray'); // end of the warm-up
    expect(svg).not.toContain('NaN');
  });

  it('says so instead of drawing when nothing was sampled', () => {
    const { svg } = timePanel({ ...panel, points: [] }, 0, 0, 300);
    expect(polylines(svg)).toBe(0);
    expect(svg).toContain('not sampled');
  });
});

describe('runTimeline', () => {
  it('puts the measured seconds after the warm-up and keeps the backlog’s own times', () => {
    const t = runTimeline(loadRun('seed-mix API'));
    expect(t.totalS).toBe(5);
    expect(t.throughput).toEqual([
      { t: 2, v: 100 },
      { t: 3, v: 120 },
      { t: 4, v: 0 },
    ]);
    expect(t.p99).toEqual([
      { t: 2, v: 40 },
      { t: 3, v: 55 },
    ]);
    expect(t.backlog).toEqual([{ t: 5, v: 12 }]);
  });
});

describe('renderTimelineChart', () => {
  it('draws throughput, p99 and backlog for every run, one polyline per sampled series', () => {
    const runs: RunTimeline[] = [runTimeline(loadRun('seed-mix API')), runTimeline(loadRun('C2 raw client', { backlog: [] }))];
    const svg = renderTimelineChart('Over each load run', runs);
    expect(polylines(svg)).toBe(5);
    expect(svg.match(/throughput: ok answers per second/g)).toHaveLength(2);
    expect(svg.match(/p99 latency per second/g)).toHaveLength(2);
    expect(svg.match(/backlog: leads not yet processed/g)).toHaveLength(2);
    expect(svg).toContain('seed-mix API (warm-up 2 s');
    expect(svg).toContain('200 /s');
    expect(timePanel({ title: 'p99', unit: 'ms', color: '#000', totalS: 5, points: [{ t: 1, v: 1800 }] }, 0, 0, 300).svg).toContain('2k ms');
    expect(svg).not.toContain('NaN');
  });

  it('collects every load run of a report that recorded a timeline', () => {
    const report = { c0: loadRun('C0'), c2: loadRun('C2', { timeline: [] }), seedMix: loadRun('API') } as unknown as BenchReport;
    expect(loadRunsOf(report).map((r) => r.label)).toEqual(['C0', 'API']);
  });
});

describe('renderMarkdown', () => {
  it('references the timeline chart next to the report', () => {
    const report: BenchReport = {
      scenario: 'seed-mix',
      startedAt: '2026-12-06T06:00:00.000Z',
      machine: { cpus: 2, cpuModel: 'x', memoryGb: 4, os: 'linux', node: 'v26', temporal: '1.9.1' },
      git: { commit: 'abc', dirty: false },
      loadavg: { start: [0.5] },
      options: defaultOptions('/tmp'),
      rss: [],
      drainChecks: [],
      targets: [],
      failures: [],
    } as unknown as BenchReport;
    const md = renderMarkdown(report, 'r.svg', 'r-timeline.svg');
    expect(md).toContain('## Over each load run');
    expect(md).toContain('](r-timeline.svg)');
  });
});
