import { esc } from './chart.js';
import type { LoadRun } from './load/types.js';
import type { BenchReport } from './scenarios/context.js';

// Time series over each load run, one row per run: successful answers per second, p99
// latency per second, and the backlog (leads acknowledged but not yet in the CRM with their
// welcome email). The x axis is seconds since the load started, warm-up included; a dashed
// line marks where the measured window begins. Linear scales from 0. Pure, unit-tested.

export interface SeriesPoint {
  /** Seconds since the load (warm-up included) started. */
  t: number;
  v: number;
}

export interface RunTimeline {
  label: string;
  warmupS: number;
  /** Warm-up + measured seconds: the x axis' length. */
  totalS: number;
  throughput: SeriesPoint[];
  p99: SeriesPoint[];
  backlog: SeriesPoint[];
}

export interface TimePanel {
  title: string;
  /** Unit of the y axis, written next to its top tick. */
  unit: string;
  points: SeriesPoint[];
  color: string;
  totalS: number;
  /** Where the measured window starts (a dashed line); none for 0. */
  markS?: number;
}

const PANEL_H = 150;
const AXIS_W = 46;

/** A round number ≥ max for the top of a linear axis (1, 2 or 5 times a power of ten). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Axis ticks: 0, 50, 2.5, 1.5k. */
const fmt = (v: number) => (v >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3))));

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

/** One panel: title, y ticks 0 / half / top with the unit, x ticks 0 and the end, one polyline. */
export function timePanel(panel: TimePanel, x0: number, y0: number, w: number): { svg: string; h: number } {
  const plotW = w - AXIS_W - 10;
  const top = y0 + 22;
  const bottom = top + PANEL_H;
  const maxV = niceMax(Math.max(0, ...panel.points.map((p) => p.v)));
  const totalS = Math.max(1, panel.totalS, ...panel.points.map((p) => p.t));
  const xOf = (t: number) => x0 + AXIS_W + (Math.max(0, t) / totalS) * plotW;
  const yOf = (v: number) => bottom - (Math.max(0, v) / maxV) * PANEL_H;
  const parts: string[] = [text(x0, y0 + 12, panel.title, 'class="h"')];
  for (const v of [0, maxV / 2, maxV]) {
    const y = yOf(v);
    parts.push(`<line x1="${x0 + AXIS_W}" y1="${y.toFixed(1)}" x2="${x0 + AXIS_W + plotW}" y2="${y.toFixed(1)}" class="grid"/>`);
    parts.push(text(x0 + AXIS_W - 4, y + 4, v === maxV ? `${fmt(v)} ${panel.unit}` : fmt(v), 'class="tick" text-anchor="end"'));
  }
  parts.push(text(xOf(0), bottom + 14, '0 s', 'class="tick" text-anchor="start"'));
  parts.push(text(xOf(totalS), bottom + 14, `${Math.round(totalS)} s`, 'class="tick" text-anchor="end"'));
  if (panel.markS) {
    const x = xOf(panel.markS);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#999" stroke-dasharray="4 3"/>`);
  }
  if (panel.points.length > 0) {
    const pts = panel.points.map((p) => `${xOf(p.t).toFixed(1)},${yOf(p.v).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${panel.color}" stroke-width="1.5"/>`);
  } else {
    parts.push(text(x0 + AXIS_W + plotW / 2, top + PANEL_H / 2, 'not sampled', 'class="tick" text-anchor="middle"'));
  }
  return { svg: parts.join('\n'), h: 22 + PANEL_H + 24 };
}

/** A load run's series on one time axis (timeline points count from the end of the warm-up). */
export function runTimeline(run: LoadRun): RunTimeline {
  const offset = (p: { t: number }) => run.warmupS + p.t;
  return {
    label: run.label,
    warmupS: run.warmupS,
    totalS: run.warmupS + run.durationS,
    throughput: run.timeline.map((p) => ({ t: offset(p), v: p.ok })),
    p99: run.timeline.filter((p) => p.p99Ms !== undefined).map((p) => ({ t: offset(p), v: p.p99Ms! })),
    backlog: (run.backlog ?? []).map((p) => ({ t: p.t, v: p.leads })),
  };
}

/** Every load run of a report with a timeline, in the order the report lists them. */
export function loadRunsOf(report: BenchReport): LoadRun[] {
  const runs: Array<LoadRun | undefined> = [
    report.c0,
    report.c2,
    report.seedMix,
    ...(report.openLoop ?? []).flatMap((p) => [p.api, p.raw]),
    ...(report.scale?.entries ?? []).map((e) => e.run),
    ...(report.tune?.server ?? []).map((e) => e.c2),
    ...(report.clusterCompare ?? []).flatMap((e) => [e.seedMix, e.c2]),
  ];
  return runs.filter((r): r is LoadRun => !!r && r.timeline.length > 0);
}

export function renderTimelineChart(title: string, runs: readonly RunTimeline[]): string {
  const width = 1000;
  const margin = 20;
  const gap = 16;
  const panelW = (width - 2 * margin - 2 * gap) / 3;
  const rows: string[] = [];
  let y = 44;
  for (const run of runs) {
    rows.push(text(margin, y + 14, `${run.label} (warm-up ${run.warmupS} s, dashed, then ${Math.round(run.totalS - run.warmupS)} s measured)`, 'class="r"'));
    y += 22;
    const panels: TimePanel[] = [
      { title: 'throughput: ok answers per second', unit: '/s', points: run.throughput, color: '#2171b5', totalS: run.totalS, markS: run.warmupS },
      { title: 'p99 latency per second', unit: 'ms', points: run.p99, color: '#d94801', totalS: run.totalS, markS: run.warmupS },
      { title: 'backlog: leads not yet processed', unit: 'leads', points: run.backlog, color: '#31a354', totalS: run.totalS, markS: run.warmupS },
    ];
    let h = 0;
    panels.forEach((p, i) => {
      const drawn = timePanel(p, margin + i * (panelW + gap), y, panelW);
      rows.push(drawn.svg);
      h = Math.max(h, drawn.h);
    });
    y += h + 10;
  }
  if (runs.length === 0) {
    rows.push(text(margin, y + 20, 'no load run recorded a timeline', 'class="r"'));
    y += 40;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>.t{font-size:18px;font-weight:600}.r{font-size:13px;font-weight:600}.h{font-size:12px}.tick{font-size:10px;fill:#555}.grid{stroke:#ddd;stroke-width:1}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(margin, 28, title, 'class="t"'),
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}

export function timelineChartOf(report: BenchReport): string {
  return renderTimelineChart(`Over each load run (${report.scenario}, ${report.startedAt.slice(0, 10)})`, loadRunsOf(report).map(runTimeline));
}
