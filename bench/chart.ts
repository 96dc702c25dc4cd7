import type { BenchReport } from './scenarios/context.js';
import { formatMs, formatRate, ROUTE_LABELS, ROUTES } from './stats.js';

// A hand-written SVG: throughput of the API against its ceilings, latency percentiles per
// route for the API and the raw client, and (when measured) open-loop latency against the
// offered rate. Log scales, labelled values. Pure, unit-tested.

export interface ThroughputBar {
  label: string;
  value: number;
  series: 'api' | 'c2' | 'c0';
}

export interface LatencyGroup {
  group: string;
  bars: Array<{ series: 'api' | 'c2'; stat: 'p50' | 'p90' | 'p99'; value: number }>;
}

export interface OpenLoopRow {
  rate: number;
  apiP50: number;
  apiP99: number;
  rawP50: number;
  rawP99: number;
}

export interface ChartInput {
  title: string;
  subtitle: string;
  throughput: ThroughputBar[];
  latency: LatencyGroup[];
  openLoop?: OpenLoopRow[];
}

const COLORS = {
  api: { p50: '#9ecae1', p90: '#4292c6', p99: '#08519c' },
  c2: { p50: '#fdd0a2', p90: '#fd8d3c', p99: '#d94801' },
  bar: { api: '#2171b5', c2: '#e6550d', c0: '#636363' },
} as const;

/** Text made safe inside SVG elements and attributes. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Powers of ten spanning [min, max] (values ≤ 0 ignored). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
  const hi = Math.ceil(Math.log10(Math.max(max, min, 1e-3) * 1.0001));
  const ticks: number[] = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e++) ticks.push(10 ** e);
  return ticks;
}

/** Maps v to [0, length] on a log axis between the first and last tick. */
export function logScale(ticks: number[], length: number): (v: number) => number {
  const a = Math.log10(ticks[0]!);
  const b = Math.log10(ticks[ticks.length - 1]!);
  return (v) => (v <= 0 ? 0 : Math.max(0, Math.min(length, ((Math.log10(v) - a) / (b - a)) * length)));
}

const tickLabel = (v: number) => (v >= 1000 ? `${v / 1000}k` : v >= 1 ? String(v) : String(v));

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

function throughputPanel(bars: ThroughputBar[], x0: number, y0: number, w: number): { svg: string; h: number } {
  const rowH = 26;
  const labelW = 250;
  const plotW = w - labelW - 70;
  const h = 40 + bars.length * rowH + 30;
  const values = bars.map((b) => b.value).filter((v) => v > 0);
  const ticks = logTicks(Math.min(...values, 10) / 2, Math.max(...values, 10));
  const scale = logScale(ticks, plotW);
  const parts: string[] = [text(x0, y0 + 16, 'Throughput: successful answers per second (log scale)', 'class="h"')];
  const top = y0 + 32;
  const bottom = top + bars.length * rowH;
  for (const t of ticks) {
    const x = x0 + labelW + scale(t);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" class="grid"/>`);
    parts.push(text(x, bottom + 14, tickLabel(t), 'class="tick" text-anchor="middle"'));
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const len = scale(b.value);
    parts.push(text(x0 + labelW - 8, y + rowH / 2 + 4, b.label, 'class="lab" text-anchor="end"'));
    parts.push(`<rect x="${x0 + labelW}" y="${y + 4}" width="${len.toFixed(1)}" height="${rowH - 8}" fill="${COLORS.bar[b.series]}"/>`);
    parts.push(text(x0 + labelW + len + 5, y + rowH / 2 + 4, formatRate(b.value), 'class="val"'));
  });
  return { svg: parts.join('\n'), h };
}

function latencyPanel(groups: LatencyGroup[], x0: number, y0: number, w: number): { svg: string; h: number } {
  const plotH = 220;
  const axisW = 50;
  const h = 40 + plotH + 60;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const ticks = logTicks(Math.min(...values, 1) / 2, Math.max(...values, 10));
  const scale = logScale(ticks, plotH);
  const top = y0 + 32;
  const bottom = top + plotH;
  const parts: string[] = [text(x0, y0 + 16, 'Latency per route, ms (log scale): API (blue) vs raw client C2 (orange), p50 / p90 / p99', 'class="h"')];
  for (const t of ticks) {
    const y = bottom - scale(t);
    parts.push(`<line x1="${x0 + axisW}" y1="${y.toFixed(1)}" x2="${x0 + w}" y2="${y.toFixed(1)}" class="grid"/>`);
    parts.push(text(x0 + axisW - 6, y + 4, tickLabel(t), 'class="tick" text-anchor="end"'));
  }
  const groupW = (w - axisW) / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const gx = x0 + axisW + gi * groupW;
    const barW = Math.min(22, (groupW - 20) / Math.max(1, g.bars.length));
    const start = gx + (groupW - barW * g.bars.length) / 2;
    g.bars.forEach((b, bi) => {
      const bh = scale(b.value);
      const x = start + bi * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(bottom - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[b.series][b.stat]}"><title>${esc(`${b.series === 'api' ? 'API' : 'C2'} ${b.stat} ${formatMs(b.value)}`)}</title></rect>`,
      );
      if (b.stat === 'p99') {
        const label = b.value > 0 ? formatMs(b.value) : 'no answers';
        parts.push(text(x + (barW - 2) / 2, bottom - bh - 4, label, 'class="val small" text-anchor="middle"'));
      }
    });
    parts.push(text(gx + groupW / 2, bottom + 16, g.group, 'class="lab" text-anchor="middle"'));
  });
  // Legend.
  const ly = bottom + 36;
  let lx = x0 + axisW;
  for (const series of ['api', 'c2'] as const) {
    for (const stat of ['p50', 'p90', 'p99'] as const) {
      parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[series][stat]}"/>`);
      parts.push(text(lx + 16, ly, `${series === 'api' ? 'API' : 'C2'} ${stat}`, 'class="tick"'));
      lx += 90;
    }
  }
  return { svg: parts.join('\n'), h };
}

function openLoopPanel(rows: OpenLoopRow[], x0: number, y0: number, w: number): { svg: string; h: number } {
  const plotH = 200;
  const axisW = 50;
  const h = 40 + plotH + 60;
  const plotW = w - axisW - 20;
  const values = rows.flatMap((r) => [r.apiP50, r.apiP99, r.rawP50, r.rawP99]).filter((v) => v > 0);
  const ticks = logTicks(Math.min(...values, 1) / 2, Math.max(...values, 10));
  const scale = logScale(ticks, plotH);
  const maxRate = Math.max(...rows.map((r) => r.rate)) * 1.1;
  const xOf = (rate: number) => x0 + axisW + (rate / maxRate) * plotW;
  const top = y0 + 32;
  const bottom = top + plotH;
  const parts: string[] = [text(x0, y0 + 16, 'Open loop: latency (ms, log scale) against offered requests per second', 'class="h"')];
  for (const t of ticks) {
    const y = bottom - scale(t);
    parts.push(`<line x1="${x0 + axisW}" y1="${y.toFixed(1)}" x2="${x0 + axisW + plotW}" y2="${y.toFixed(1)}" class="grid"/>`);
    parts.push(text(x0 + axisW - 6, y + 4, tickLabel(t), 'class="tick" text-anchor="end"'));
  }
  for (const r of rows) parts.push(text(xOf(r.rate), bottom + 16, formatRate(r.rate), 'class="tick" text-anchor="middle"'));
  const series: Array<[string, (r: OpenLoopRow) => number, string, string]> = [
    ['API p50', (r) => r.apiP50, COLORS.api.p50, ''],
    ['API p99', (r) => r.apiP99, COLORS.api.p99, ''],
    ['raw p50', (r) => r.rawP50, COLORS.c2.p50, 'stroke-dasharray="5 3"'],
    ['raw p99', (r) => r.rawP99, COLORS.c2.p99, 'stroke-dasharray="5 3"'],
  ];
  let lx = x0 + axisW;
  for (const [name, pick, color, dash] of series) {
    const pts = rows.map((r) => `${xOf(r.rate).toFixed(1)},${(bottom - scale(pick(r))).toFixed(1)}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5" ${dash}/>`);
    for (const r of rows) parts.push(`<circle cx="${xOf(r.rate).toFixed(1)}" cy="${(bottom - scale(pick(r))).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<line x1="${lx}" y1="${bottom + 36}" x2="${lx + 20}" y2="${bottom + 36}" stroke="${color}" stroke-width="2.5" ${dash}/>`);
    parts.push(text(lx + 26, bottom + 40, name, 'class="tick"'));
    lx += 100;
  }
  return { svg: parts.join('\n'), h };
}

export function renderChart(input: ChartInput): string {
  const width = 1000;
  const margin = 20;
  const panels: string[] = [];
  let y = 60;
  if (input.throughput.length > 0) {
    const p = throughputPanel(input.throughput, margin, y, width - 2 * margin);
    panels.push(p.svg);
    y += p.h;
  }
  if (input.latency.length > 0) {
    const p = latencyPanel(input.latency, margin, y, width - 2 * margin);
    panels.push(p.svg);
    y += p.h;
  }
  if (input.openLoop && input.openLoop.length > 0) {
    const p = openLoopPanel(input.openLoop, margin, y, width - 2 * margin);
    panels.push(p.svg);
    y += p.h;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>.t{font-size:18px;font-weight:600}.s{font-size:12px;fill:#555}.h{font-size:14px;font-weight:600}.lab{font-size:12px}.tick{font-size:11px;fill:#555}.val{font-size:11px}.small{font-size:9px}.grid{stroke:#ddd;stroke-width:1}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(margin, 28, input.title, 'class="t"'),
    text(margin, 46, input.subtitle, 'class="s"'),
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

export function chartInputFromReport(report: BenchReport): ChartInput {
  const throughput: ThroughputBar[] = [];
  const { seedMix: api, c2, c0 } = report;
  if (api) throughput.push({ label: 'API writes/s', value: api.totals.writeRps, series: 'api' });
  if (c2) throughput.push({ label: 'C2 raw writes/s', value: c2.totals.writeRps, series: 'c2' });
  if (api) throughput.push({ label: 'API reads/s', value: api.totals.readRps, series: 'api' });
  if (c2) throughput.push({ label: 'C2 raw reads/s', value: c2.totals.readRps, series: 'c2' });
  if (api) throughput.push({ label: 'API all/s', value: api.totals.rps, series: 'api' });
  if (c2) throughput.push({ label: 'C2 raw all/s', value: c2.totals.rps, series: 'c2' });
  if (c0) throughput.push({ label: 'C0 bare HTTP all/s', value: c0.totals.rps, series: 'c0' });
  if (report.c3) throughput.push({ label: 'C3 leads drained/s', value: report.c3.rate, series: 'c0' });
  if (api?.createRate) throughput.push({ label: 'API leads created/s', value: api.createRate, series: 'api' });
  for (const e of report.scale?.entries ?? []) {
    throughput.push({ label: `${e.apiProcesses} API, ${e.workerProcesses} worker: writes/s`, value: e.run.totals.writeRps, series: 'api' });
    if (e.c3) throughput.push({ label: `${e.apiProcesses} API, ${e.workerProcesses} worker: C3 leads/s`, value: e.c3.rate, series: 'c0' });
  }
  for (const e of report.tune?.server ?? []) {
    throughput.push({ label: `${e.name}: C2 writes/s`, value: e.c2.totals.writeRps, series: 'c2' });
    if (e.c3) throughput.push({ label: `${e.name}: C3 leads/s`, value: e.c3.rate, series: 'c0' });
  }
  for (const w of report.tune?.worker ?? []) {
    if (w.c3) throughput.push({ label: `worker ${w.name.split(' (')[0]}: C3 leads/s`, value: w.c3.rate, series: 'c0' });
  }
  for (const r of report.leadImport ?? []) {
    const series = r.path === 'batch' ? 'api' : 'c2';
    throughput.push({ label: `import ${r.path}: leads accepted/s`, value: r.leads / r.acceptS, series });
    throughput.push({ label: `import ${r.path}: leads synced/s`, value: r.leads / r.syncedS, series });
  }

  const latency: LatencyGroup[] = [];
  if (api || c2) {
    for (const route of ROUTES) {
      const bars: LatencyGroup['bars'] = [];
      for (const [series, run] of [['api', api], ['c2', c2]] as const) {
        const r = run?.routes.find((x) => x.route === route);
        if (!r) continue;
        for (const stat of ['p50', 'p90', 'p99'] as const) bars.push({ series, stat, value: r.latency[stat] });
      }
      latency.push({ group: ROUTE_LABELS[route].http, bars });
    }
  }
  const openLoop = report.openLoop?.map((p) => ({
    rate: p.rate,
    apiP50: p.api.totals.latency.p50,
    apiP99: p.api.totals.latency.p99,
    rawP50: p.raw.totals.latency.p50,
    rawP99: p.raw.totals.latency.p99,
  }));
  const m = report.machine;
  return {
    title: `Lead API benchmark (${report.scenario}), ${report.startedAt.slice(0, 10)}`,
    subtitle: `${m.cpus} × ${m.cpuModel}, Node ${m.node}, Temporal ${m.temporal.split(' ')[0]}, commit ${report.git.commit}; load avg ${report.loadavg.start[0]?.toFixed(1)} → ${report.loadavg.end?.[0]?.toFixed(1) ?? '?'}`,
    throughput,
    latency,
    ...(openLoop?.length ? { openLoop } : {}),
  };
}
