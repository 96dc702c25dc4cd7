// The engine's own time per call, from the Temporal server's Prometheus metrics: how long its
// history service took over each kind of call a lead's writes and reads make, and how busy its
// persistence was. Set beside the API's latencies minute by minute, it tells the API's time
// from the engine's (issue #24, point 3: "a measured breakdown that shows the rest is the
// engine's durable write"). The dev server runs every service in one process and reports a
// call once per service it crosses; the history service's figure is the durable part.

/** The calls a seed-mix lead makes, by the history service's operation name. */
export const ENGINE_CALLS = {
  /** POST /api/leads: the lead's workflow started with its first change. */
  create: 'SignalWithStartWorkflowExecution',
  /** POST and PUT with a new address: the address's claim record (src/identity/address-book.ts). */
  claim: 'StartWorkflowExecution',
  /** PUT /api/leads/:id: the change handed to the running lead. */
  update: 'SignalWorkflowExecution',
  /** Reads, address checks and the read's settle wait. */
  describe: 'DescribeWorkflowExecution',
} as const;
export type EngineCall = keyof typeof ENGINE_CALLS;

/** Cumulative histogram of one metric series: upper bounds (seconds) and counts at or below each. */
interface Histogram {
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

/** One scrape: history-service call latencies by operation, and persistence over all operations. */
export interface EngineSnapshot {
  calls: Partial<Record<EngineCall, Histogram>>;
  persistence: { sum: number; count: number };
}

export interface EngineFigures {
  /** Per call: calls per second, median and mean time inside the history service (ms). */
  calls: Partial<Record<EngineCall, { perSecond: number; p50Ms: number; meanMs: number }>>;
  /** Persistence operations per second over all kinds, and their mean time (ms, queueing included). */
  persistence: { perSecond: number; meanMs: number };
}

const SERIES = /^(service_latency|persistence_latency)_(bucket|sum|count)\{([^}]*)\} (\S+)$/;

/** Reads one scrape of the server's /metrics text. */
export function parseEngineMetrics(text: string): EngineSnapshot {
  const calls: EngineSnapshot['calls'] = {};
  const persistence = { sum: 0, count: 0 };
  const byOperation = new Map<string, EngineCall>(Object.entries(ENGINE_CALLS).map(([k, op]) => [op, k as EngineCall]));
  for (const line of text.split('\n')) {
    const m = SERIES.exec(line);
    if (!m) continue;
    const [, metric, part, labels, raw] = m as unknown as [string, string, string, string, string];
    const value = Number(raw);
    if (metric === 'persistence_latency') {
      if (part === 'sum') persistence.sum += value;
      if (part === 'count') persistence.count += value;
      continue;
    }
    if (!/service_name="history"/.test(labels)) continue;
    const call = byOperation.get(/operation="([^"]+)"/.exec(labels)?.[1] ?? '');
    if (!call) continue;
    const h = (calls[call] ??= { bounds: [], counts: [], sum: 0, count: 0 });
    if (part === 'sum') h.sum += value;
    else if (part === 'count') h.count += value;
    else {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      const at = h.bounds.indexOf(bound);
      if (at >= 0) h.counts[at]! += value;
      else {
        h.bounds.push(bound);
        h.counts.push(value);
      }
    }
  }
  return { calls, persistence };
}

/** What happened between two scrapes `seconds` apart. */
export function engineBetween(before: EngineSnapshot, after: EngineSnapshot, seconds: number): EngineFigures {
  const calls: EngineFigures['calls'] = {};
  for (const call of Object.keys(ENGINE_CALLS) as EngineCall[]) {
    const a = after.calls[call];
    if (!a) continue;
    const b = before.calls[call];
    const count = a.count - (b?.count ?? 0);
    if (count <= 0) continue;
    const sum = a.sum - (b?.sum ?? 0);
    const counts = a.counts.map((c, i) => c - (b?.counts[b.bounds.indexOf(a.bounds[i]!)] ?? 0));
    calls[call] = { perSecond: count / seconds, p50Ms: quantile(a.bounds, counts, 0.5) * 1000, meanMs: (sum / count) * 1000 };
  }
  const count = after.persistence.count - before.persistence.count;
  const sum = after.persistence.sum - before.persistence.sum;
  return { calls, persistence: { perSecond: count / seconds, meanMs: count > 0 ? (sum / count) * 1000 : 0 } };
}

/** The q-quantile of a cumulative histogram, linear within its bucket (as Prometheus' histogram_quantile). */
export function quantile(bounds: readonly number[], cumulative: readonly number[], q: number): number {
  const order = bounds.map((_, i) => i).sort((x, y) => bounds[x]! - bounds[y]!);
  const total = cumulative[order.at(-1)!] ?? 0;
  if (total <= 0) return 0;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const i of order) {
    const upper = bounds[i]!;
    const at = cumulative[i]!;
    if (at >= rank) {
      if (!Number.isFinite(upper)) return lower;
      return lower + ((upper - lower) * (rank - below)) / Math.max(at - below, 1e-9);
    }
    lower = upper;
    below = at;
  }
  return lower;
}

/** Scrapes the server's metrics; undefined when it cannot be read (the figures are then left out). */
export async function scrapeEngine(url: string): Promise<EngineSnapshot | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    return parseEngineMetrics(await res.text());
  } catch {
    return undefined;
  }
}
