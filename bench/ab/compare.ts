import { formatMs, formatRate } from '../stats.js';
import { combineCosts, type LeadCost } from './cost.js';
import { SIDE_ROLES, type SideRole, type SideUsage } from './usage.js';

// What an A/B run measured, and how the two sides compare. Pure, so tests can reach it.

export type SideName = 'base' | 'head';

/** One side's figures in one round: a seed-mix load against that side's own `npm start`. */
export interface AbSample {
  side: SideName;
  round: number;
  rps: number;
  writeRps: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** GET lead and GET task latency. */
  readP50Ms: number;
  readP99Ms: number;
  /** Reads answered from Temporal history rather than by the workflow. */
  historyReads: number;
  reads: number;
  /** Seconds from the end of the load until every acknowledged lead reached the CRM and the mailbox. */
  drainSeconds: number;
  drained: boolean;
  /**
   * Leads created and acknowledged, over the seconds from the start of the load until the
   * last of them reached the CRM and the mailbox (warm-up included): what the whole system
   * delivered, end to end.
   */
  leadsPerSecond?: number;
  /** Temporal's work per lead, from the histories of leads this round created. */
  cost?: LeadCost;
  /** What each part of the stack spent over the load and its drain (usage.ts). */
  usage?: SideUsage;
  /** Leads whose create was acknowledged: what `usage` is divided by. */
  leads?: number;
}

export interface AbSide {
  name: SideName;
  ref: string;
  commit: string;
}

export interface AbSummary {
  side: SideName;
  rounds: number;
  rps: number;
  successRate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  readP50Ms: number;
  readP99Ms: number;
  historyReadShare: number;
  drainSeconds: number;
  allDrained: boolean;
  leadsPerSecond: number;
  cost?: LeadCost;
  /** Median over the rounds, per role: CPU ms per acknowledged lead and peak RSS (MB). */
  cpuMsPerLead?: Record<SideRole, number>;
  peakRssMb?: Record<SideRole, number>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Medians over a side's rounds (a round disturbed by the machine moves a median least). */
export function summarizeSide(side: SideName, samples: readonly AbSample[]): AbSummary {
  const own = samples.filter((s) => s.side === side);
  const med = (pick: (s: AbSample) => number) => median(own.map(pick));
  const reads = own.reduce((n, s) => n + s.reads, 0);
  return {
    side,
    rounds: own.length,
    rps: med((s) => s.rps),
    successRate: Math.min(...own.map((s) => s.successRate), 1),
    p50Ms: med((s) => s.p50Ms),
    p99Ms: med((s) => s.p99Ms),
    maxMs: Math.max(0, ...own.map((s) => s.maxMs)),
    readP50Ms: med((s) => s.readP50Ms),
    readP99Ms: med((s) => s.readP99Ms),
    historyReadShare: reads > 0 ? own.reduce((n, s) => n + s.historyReads, 0) / reads : 0,
    drainSeconds: med((s) => s.drainSeconds),
    allDrained: own.every((s) => s.drained),
    leadsPerSecond: med((s) => s.leadsPerSecond ?? 0),
    ...costSummary(own),
    ...usageSummary(own),
  };
}

function usageSummary(own: readonly AbSample[]): Pick<AbSummary, 'cpuMsPerLead' | 'peakRssMb'> {
  const measured = own.filter((s): s is AbSample & { usage: SideUsage; leads: number } => s.usage !== undefined && (s.leads ?? 0) > 0);
  if (measured.length === 0) return {};
  const cpuMsPerLead = {} as Record<SideRole, number>;
  const peakRssMb = {} as Record<SideRole, number>;
  for (const role of SIDE_ROLES) {
    cpuMsPerLead[role] = median(measured.map((s) => (s.usage.cpuSeconds[role] * 1000) / s.leads));
    peakRssMb[role] = median(measured.map((s) => s.usage.peakRssMb[role]));
  }
  return { cpuMsPerLead, peakRssMb };
}

function costSummary(own: readonly AbSample[]): { cost?: LeadCost } {
  const costs = own.map((s) => s.cost).filter((c): c is LeadCost => c !== undefined);
  if (costs.length === 0) return {};
  return { cost: combineCosts(costs, median, costs.reduce((n, c) => n + c.leads, 0)) };
}

/**
 * Which side runs first in each round: alternating, so neither side always meets the
 * machine warmer (page cache, CPU frequency, a neighbour's load) than the other.
 */
export function roundOrder(round: number): [SideName, SideName] {
  return round % 2 === 1 ? ['base', 'head'] : ['head', 'base'];
}

/** head ÷ base per round, so a ratio is taken between runs minutes apart, not across the whole run. */
export function roundRatios(samples: readonly AbSample[], pick: (s: AbSample) => number): number[] {
  const rounds = [...new Set(samples.map((s) => s.round))].sort((a, b) => a - b);
  const ratios: number[] = [];
  for (const round of rounds) {
    const base = samples.find((s) => s.round === round && s.side === 'base');
    const head = samples.find((s) => s.round === round && s.side === 'head');
    if (base && head && pick(base) > 0) ratios.push(pick(head) / pick(base));
  }
  return ratios;
}

const pct = (share: number) => `${(share * 100).toFixed(share > 0 && share < 0.001 ? 3 : 1)}%`;
const ratio = (r: number) => `${r.toFixed(2)}×`;

function crmLatency(range: [number, number] | undefined): string {
  if (!range) return '0';
  const s = (ms: number) => `${ms / 1000} s`;
  return range[0] === range[1] ? s(range[0]) : `${s(range[0])}–${s(range[1])} per request`;
}

function loopShape(input: { rate?: number; thinkMs?: number }): string {
  if (input.thinkMs) return `, a think time of ${input.thinkMs / 1000} s (0.5-1.5x, random) before each request`;
  if (input.rate) return `, open loop at ${input.rate} req/s in all (autocannon: in one burst each second)`;
  return ', each request sent when the previous one is answered';
}

export function renderAbMarkdown(input: {
  startedAt: string;
  machine: string;
  command: string;
  connections: number;
  /** Open loop: requests per second offered over all connections. */
  rate?: number;
  /** Users with think time (ms) between requests. */
  thinkMs?: number;
  /** The CRM simulator's latency per request, [min, max] ms. */
  crmLatencyMs?: [number, number];
  durationS: number;
  warmupS: number;
  sides: AbSide[];
  samples: AbSample[];
  /** File name of the chart written next to the report. */
  chart?: string;
}): string {
  const { samples } = input;
  const base = summarizeSide('base', samples);
  const head = summarizeSide('head', samples);
  const sideOf = (name: SideName) => input.sides.find((s) => s.name === name)!;
  const rpsRatios = roundRatios(samples, (s) => s.rps);
  const p99Ratios = roundRatios(samples, (s) => s.p99Ms);
  const row = (s: AbSummary) =>
    `| ${s.side} (${sideOf(s.side).ref}, ${sideOf(s.side).commit}) | ${formatRate(s.rps)} | ${pct(s.successRate)} | ${formatMs(s.p50Ms)} | ${formatMs(s.p99Ms)} | ${formatMs(s.maxMs)} | ${formatMs(s.readP50Ms)} / ${formatMs(s.readP99Ms)} | ${pct(s.historyReadShare)} | ${s.drainSeconds.toFixed(1)} s${s.allDrained ? '' : ' (NOT all drained)'} |`;
  const lines = [
    `# A/B seed-mix: ${sideOf('head').ref} against ${sideOf('base').ref}`,
    '',
    `- started ${input.startedAt} on ${input.machine}`,
    `- command: \`${input.command}\``,
    `- each side is its own build started as \`npm start\` starts it (fresh SQLite file, CRM simulator latency ${crmLatency(input.crmLatencyMs)}, no CRM rate limit);`,
    `  ${input.connections} ${input.thinkMs ? 'users' : 'connections'} each looping POST lead → GET lead → PUT lead → GET task${loopShape(input)}, ${input.warmupS} s warm-up + ${input.durationS} s measured;`,
    `  rounds alternate which side goes first; figures are medians over ${base.rounds} round(s) per side (max: the worst round)`,
    '',
    ...(input.chart ? [`![base against head, round by round](${input.chart})`, ''] : []),
    '| side | req/s | success | p50 | p99 | max | reads p50 / p99 | reads from history | drain after load |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row(base),
    row(head),
    '',
    `head ÷ base, per round: req/s ${rpsRatios.map(ratio).join(', ')} (median ${ratio(median(rpsRatios))}); ` +
      `p99 ${p99Ratios.map(ratio).join(', ')} (median ${ratio(median(p99Ratios))})`,
    '',
    ...(base.leadsPerSecond > 0 && head.leadsPerSecond > 0
      ? [
          `End to end (leads acknowledged ÷ seconds from the load's start until the last reached the CRM and the mailbox): ` +
            `base ${base.leadsPerSecond.toFixed(1)} leads/s, head ${head.leadsPerSecond.toFixed(1)} leads/s (${ratio(head.leadsPerSecond / base.leadsPerSecond)})`,
          '',
        ]
      : []),
    ...costLines(base, head),
    ...usageLines(base, head),
    ...targetLines(fastPathTargets(samples, input)),
    '| round | side | req/s | success | p50 | p99 | max | reads p50 / p99 | history reads | drain |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...samples.map(
      (s) =>
        `| ${s.round} | ${s.side} | ${formatRate(s.rps)} | ${pct(s.successRate)} | ${formatMs(s.p50Ms)} | ${formatMs(s.p99Ms)} | ${formatMs(s.maxMs)} | ${formatMs(s.readP50Ms)} / ${formatMs(s.readP99Ms)} | ${s.historyReads}/${s.reads} | ${s.drainSeconds.toFixed(1)} s${s.drained ? '' : ' (not drained)'} |`,
    ),
  ];
  return lines.join('\n');
}

/** Issue #9's targets for the closed-loop seed-mix A/B (targets 1 and 4), as head against base. */
export const FAST_PATH_TARGETS = { rpsRatio: 3.5, p99Ratio: 0.3, costRatio: 0.5 };

export interface AbTarget {
  target: string;
  measured: string;
  met: boolean;
}

/**
 * The targets a closed-loop A/B can judge: throughput and p99 as the median of the per-round
 * ratios, head's success and reads from history, and Temporal's work per lead. Other load
 * shapes (think time, open loop, a slow CRM) are not what the targets were set for: none.
 */
export function fastPathTargets(samples: readonly AbSample[], shape: { rate?: number; thinkMs?: number; crmLatencyMs?: [number, number] } = {}): AbTarget[] {
  if (shape.rate || shape.thinkMs || shape.crmLatencyMs) return [];
  const base = summarizeSide('base', samples);
  const head = summarizeSide('head', samples);
  const rps = median(roundRatios(samples, (s) => s.rps));
  const p99 = median(roundRatios(samples, (s) => s.p99Ms));
  const targets: AbTarget[] = [
    { target: `1. req/s ≥ ${FAST_PATH_TARGETS.rpsRatio}× base`, measured: `${ratio(rps)} (${formatRate(base.rps)} → ${formatRate(head.rps)})`, met: rps >= FAST_PATH_TARGETS.rpsRatio },
    { target: `1. p99 ≤ ${FAST_PATH_TARGETS.p99Ratio}× base`, measured: `${ratio(p99)} (${formatMs(base.p99Ms)} → ${formatMs(head.p99Ms)})`, met: p99 > 0 && p99 <= FAST_PATH_TARGETS.p99Ratio },
    { target: '1. 100% success', measured: pct(head.successRate), met: head.successRate >= 1 },
    { target: '1. no read answered from history under load', measured: pct(head.historyReadShare), met: head.historyReadShare === 0 },
  ];
  if (base.cost && head.cost) {
    const per = [
      ['history events', base.cost.events, head.cost.events],
      ['workflow tasks', base.cost.workflowTasks, head.cost.workflowTasks],
      ['visibility writes', base.cost.visibilityWrites, head.cost.visibilityWrites],
    ] as const;
    for (const [label, b, h] of per) {
      const r = b > 0 ? h / b : 0;
      targets.push({ target: `4. ${label} per lead ≤ ${FAST_PATH_TARGETS.costRatio}× base`, measured: `${ratio(r)} (${b.toFixed(1)} → ${h.toFixed(1)})`, met: b > 0 && r <= FAST_PATH_TARGETS.costRatio });
    }
  }
  return targets;
}

function targetLines(targets: readonly AbTarget[]): string[] {
  if (targets.length === 0) return [];
  return [
    'Targets of issue #9 this run can judge (closed loop; the others need their own runs, see bench/README.md):',
    '',
    '| target | measured (head ÷ base) | |',
    '| --- | --- | --- |',
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'met' : '**not met**'} |`),
    '',
  ];
}

function costLines(base: AbSummary, head: AbSummary): string[] {
  if (!base.cost || !head.cost) return [];
  const row = (label: string, pick: (c: LeadCost) => number) => {
    const b = pick(base.cost!);
    const h = pick(head.cost!);
    return `| ${label} | ${b.toFixed(1)} | ${h.toFixed(1)} | ${b > 0 ? ratio(h / b) : '-'} |`;
  };
  return [
    `Temporal's work per lead (one create and one update), from the histories of ${base.cost.leads} and ${head.cost.leads} leads the runs created:`,
    '',
    '| per lead | base | head | head ÷ base |',
    '| --- | --- | --- | --- |',
    row('history events', (c) => c.events),
    row('workflow tasks', (c) => c.workflowTasks),
    row('activity tasks', (c) => c.activityTasks),
    row('local-activity markers', (c) => c.localActivityMarkers),
    row('visibility writes', (c) => c.visibilityWrites),
    '',
  ];
}

const ROLE_LABELS: Record<SideRole, string> = { temporal: 'Temporal dev server', api: 'API (every process)', worker: 'worker' };

function usageLines(base: AbSummary, head: AbSummary): string[] {
  if (!base.cpuMsPerLead || !head.cpuMsPerLead || !base.peakRssMb || !head.peakRssMb) return [];
  const cell = (b: number, h: number, digits: number) => `${b.toFixed(digits)} | ${h.toFixed(digits)} | ${b > 0 ? ratio(h / b) : '-'}`;
  const totalB = SIDE_ROLES.reduce((n, r) => n + base.cpuMsPerLead![r], 0);
  const totalH = SIDE_ROLES.reduce((n, r) => n + head.cpuMsPerLead![r], 0);
  return [
    'CPU per lead acknowledged (user + system, from the start of the load until the drain ended) and peak resident memory of the largest process, by part of the stack (medians over the rounds):',
    '',
    '| part | CPU ms per lead, base | head | head ÷ base | peak RSS MB, base | head | head ÷ base |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...SIDE_ROLES.map((r) => `| ${ROLE_LABELS[r]} | ${cell(base.cpuMsPerLead![r], head.cpuMsPerLead![r], 1)} | ${cell(base.peakRssMb![r], head.peakRssMb![r], 0)} |`),
    `| all three | ${cell(totalB, totalH, 1)} | | | |`,
    '',
  ];
}
