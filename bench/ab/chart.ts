import { esc } from '../chart.js';
import { formatMs, formatRate } from '../stats.js';
import { summarizeSide, type AbSample, type SideName } from './compare.js';

// The A/B report's picture: base against head, round by round, as horizontal bars on a
// linear scale from zero (a ratio reads as a length). Hand-written SVG, pure, unit-tested.

const COLOR: Record<SideName, string> = { base: '#9aa5b1', head: '#2f6fb3' };
const WIDTH = 900;
const LABEL_W = 230;
const ROW_H = 22;

interface Bar {
  label: string;
  side: SideName;
  value: number;
  shown: string;
}

interface Panel {
  title: string;
  bars: Bar[];
}

function panelSvg(panel: Panel, y0: number): { svg: string; h: number } {
  const plotW = WIDTH - LABEL_W - 110;
  const max = Math.max(...panel.bars.map((b) => b.value), 1e-9);
  const parts = [`<text x="10" y="${y0 + 16}" class="h">${esc(panel.title)}</text>`];
  panel.bars.forEach((bar, i) => {
    const y = y0 + 26 + i * ROW_H;
    const len = (bar.value / max) * plotW;
    parts.push(`<text x="${LABEL_W - 8}" y="${y + 15}" class="lab" text-anchor="end">${esc(bar.label)}</text>`);
    parts.push(`<rect x="${LABEL_W}" y="${y + 3}" width="${len.toFixed(1)}" height="${ROW_H - 6}" fill="${COLOR[bar.side]}"/>`);
    parts.push(`<text x="${(LABEL_W + len + 6).toFixed(1)}" y="${y + 15}" class="val">${esc(bar.shown)}</text>`);
  });
  return { svg: parts.join('\n'), h: 26 + panel.bars.length * ROW_H + 18 };
}

/** The panels: req/s and p99 per round, read latency per side, Temporal's work per lead. */
export function abPanels(samples: readonly AbSample[]): Panel[] {
  const ordered = [...samples].sort((a, b) => a.round - b.round || (a.side === 'base' ? -1 : 1));
  const perRound = (pick: (s: AbSample) => number, shown: (v: number) => string) =>
    ordered.map((s) => ({ label: `round ${s.round}, ${s.side}`, side: s.side, value: pick(s), shown: shown(pick(s)) }));
  const sides = (['base', 'head'] as const).map((side) => summarizeSide(side, samples));
  const panels: Panel[] = [
    { title: 'Throughput, requests per second (longer is better)', bars: perRound((s) => s.rps, formatRate) },
    { title: 'p99 latency over all requests (shorter is better)', bars: perRound((s) => s.p99Ms, formatMs) },
    {
      title: 'GET lead and GET task, p50 and p99 (median over rounds)',
      bars: sides.flatMap((s) => [
        { label: `${s.side} p50`, side: s.side, value: s.readP50Ms, shown: formatMs(s.readP50Ms) },
        { label: `${s.side} p99`, side: s.side, value: s.readP99Ms, shown: formatMs(s.readP99Ms) },
      ]),
    },
  ];
  const [base, head] = sides;
  if (base?.cost && head?.cost) {
    const fields = [
      ['history events', 'events'],
      ['workflow tasks', 'workflowTasks'],
      ['visibility writes', 'visibilityWrites'],
    ] as const;
    for (const [label, key] of fields) {
      panels.push({
        title: `Temporal's work per lead: ${label} (shorter is better)`,
        bars: [base, head].map((s) => ({ label: s.side, side: s.side, value: s.cost![key], shown: s.cost![key].toFixed(1) })),
      });
    }
  }
  return panels;
}

export function renderAbChart(title: string, samples: readonly AbSample[]): string {
  let y = 40;
  const body: string[] = [];
  for (const panel of abPanels(samples)) {
    const { svg, h } = panelSvg(panel, y);
    body.push(svg);
    y += h;
  }
  const legend = (['base', 'head'] as const)
    .map((side, i) => `<rect x="${LABEL_W + i * 120}" y="${y}" width="12" height="12" fill="${COLOR[side]}"/><text x="${LABEL_W + 16 + i * 120}" y="${y + 11}" class="lab">${side}</text>`)
    .join('\n');
  const height = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<style>.t{font-size:16px;font-weight:bold}.h{font-size:13px;font-weight:bold}.lab{font-size:12px}.val{font-size:11px}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="10" y="22" class="t">${esc(title)}</text>`,
    ...body,
    legend,
    '</svg>',
  ].join('\n');
}
