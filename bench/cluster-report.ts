import type { CpuShare } from './cpu.js';
import type { ClusterCompareEntry } from './scenarios/context.js';
import { formatMs, formatRate, formatSeconds } from './stats.js';

// The cluster scenario's section of the report: the same steps on the dev server and on the
// cluster side by side, and where the CPU went during each.

const HEADERS = ['target', 'seed-mix req/s', 'success', 'avg', 'p99', 'max', 'C2 starts/s', 'C3 leads/s (steady)', 'drain checks'];

export function clusterRows(entries: readonly ClusterCompareEntry[]): string[][] {
  return entries.map((e) => {
    const t = e.seedMix.totals;
    const drains = [e.seedMix.drain, e.c3.drain].every((d) => d?.ok) ? 'passed' : 'FAILED';
    return [
      e.target,
      formatRate(t.ok / e.seedMix.durationS),
      `${(t.successRate * 100).toFixed(2)}%`,
      formatMs(t.latency.mean),
      formatMs(t.latency.p99),
      formatMs(t.latency.max),
      formatRate(e.c2.totals.ok / e.c2.durationS),
      `${formatRate(e.c3.rate)} (${formatRate(e.c3.steadyRate)})`,
      drains,
    ];
  });
}

function cpuRows(shares: readonly CpuShare[]): string[][] {
  return [...shares]
    .sort((a, b) => b.seconds - a.seconds)
    .map((s) => [s.role, `${s.seconds.toFixed(1)} s`, `${(s.share * 100).toFixed(0)}%`, s.cores.toFixed(2)]);
}

export function clusterSection(entries: readonly ClusterCompareEntry[], table: (headers: string[], rows: string[][]) => string): string[] {
  const out = ['## Cluster vs dev server', '', table(HEADERS, clusterRows(entries)), ''];
  for (const e of entries) {
    out.push(`### ${e.target}: ${e.flags.persistence}`, '');
    for (const [step, shares] of [
      ['seed-mix', e.cpu.seedMix],
      ['C2 raw client', e.cpu.c2],
      ['C3 worker drain', e.cpu.c3],
    ] as const) {
      const total = shares.reduce((sum, s) => sum + s.seconds, 0);
      out.push(`CPU during ${step} (${total.toFixed(1)} CPU-seconds in all):`, '', table(['role', 'CPU', 'share', 'cores busy'], cpuRows(shares)), '');
    }
    out.push(`C3: ${e.c3.leads} leads, drained in ${formatSeconds(e.c3.drainS)} after the workers' first poll.`, '');
  }
  return out;
}
