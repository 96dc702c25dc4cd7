import { describe, expect, it } from 'vitest';
import { parseEngineMetrics, type EngineSnapshot } from '../../bench/load/engine-time.js';
import { MinuteRecorder } from '../../bench/load/minutes.js';
import type { LoadRun } from '../../bench/load/types.js';
import { renderMarkdown } from '../../bench/report.js';
import { evaluateTargets } from '../../bench/targets.js';
import { summarize } from '../../bench/stats.js';

// The think-time seed-mix's minute-by-minute figures (issue #24: reads that slow down over
// the run, writes slow in the first minutes) and the targets read from them.

const t0 = 1_000_000;

function runWith(minutes: ReturnType<MinuteRecorder['rows']>): LoadRun {
  return {
    label: 'seed-mix API', kind: 'http', mode: 'open', connections: 50, processes: 1, warmupS: 5, durationS: 180,
    routes: [], totals: { attempts: 1, ok: 1, successRate: 1, resets: 0, errors: 0, timeouts: 0, non2xx: 0, rps: 1, writeRps: 0, readRps: 0, latency: summarize([1]) } as never,
    statusCounts: {}, errorKinds: {}, readSources: {}, timeline: [], minutes,
  };
}

describe('minute by minute', () => {
  it('keeps each minute apart: latencies per route, the highest memory per role', () => {
    const rec = new MinuteRecorder(t0);
    rec.answered('task', 10, t0 + 1_000);
    rec.answered('task', 30, t0 + 59_000);
    rec.answered('task', 400, t0 + 61_000);
    rec.answered('create', 12, t0 + 61_000);
    rec.sampled({ api: 120, worker: 300 }, t0 + 5_000);
    rec.sampled({ api: 140, worker: 290 }, t0 + 10_000);
    rec.sampled({ worker: 410 }, t0 + 95_000);
    const rows = rec.rows();
    expect(rows).toHaveLength(2);
    expect(rows[0]!.routes.task).toMatchObject({ count: 2, max: 30 });
    expect(rows[0]!.routes.create).toBeUndefined();
    expect(rows[0]!.rssMb).toEqual({ api: 140, worker: 300 });
    expect(rows[1]!.routes.task).toMatchObject({ count: 1, p99: 400 });
    expect(rows[1]!.rssMb).toEqual({ worker: 410 });
  });

  it('fails the read target when any one minute is over, names the worst, and reports the table', () => {
    const rec = new MinuteRecorder(t0);
    for (let m = 0; m < 3; m++) {
      for (let i = 0; i < 100; i++) {
        const at = t0 + m * 60_000 + i * 500;
        rec.answered('get', 20, at);
        rec.answered('task', m === 2 && i >= 98 ? 350 : 20, at);
        rec.answered('create', 15, at);
        rec.answered('put', m === 0 ? 45 : 12, at);
      }
    }
    const run = runWith(rec.rows());
    const targets = evaluateTargets({ seedMix: run, rss: [], drainChecks: [] });
    const reads = targets.find((t) => t.id === 'reads-per-minute')!;
    expect(reads.status).toBe('not met');
    expect(reads.measured).toContain('GET /api/tasks/:id p99 20.0 ms in the first minute, 350 ms in the last, worst 350 ms');
    const writes = targets.find((t) => t.id === 'writes-per-minute')!;
    expect(writes.status).toBe('not met'); // the first minute's PUT p50 is 45 ms
    const markdown = renderMarkdown({ ...baseReport(), seedMix: run, targets } as never);
    expect(markdown).toContain('## Seed-mix minute by minute');
    expect(markdown).toMatch(/\| 3 \| 15\.0 ms \/ 15\.0 ms \| 12\.0 ms \/ 12\.0 ms \| 20\.0 ms \/ 20\.0 ms \| 20\.0 ms \/ 350 ms \|/);
  });

  it('leaves out a last minute the run ended less than half a minute into', () => {
    const rec = new MinuteRecorder(t0);
    rec.answered('create', 300, t0 + 10_000);
    rec.answered('create', 300, t0 + 59_000);
    rec.answered('create', 5_000, t0 + 62_000); // one straggler after the run's end
    expect(rec.rows()).toHaveLength(1);
    rec.answered('create', 300, t0 + 95_000);
    expect(rec.rows()).toHaveLength(2);
  });

  it("sets the engine's time beside each minute, from the scrapes that close it", () => {
    const rec = new MinuteRecorder(t0);
    rec.answered('create', 300, t0 + 1_000);
    rec.answered('create', 300, t0 + 119_000);
    rec.engineSampled(engineScrape({ count: 0, sumS: 0, under10ms: 0 }, 0), t0);
    rec.engineSampled(engineScrape({ count: 60, sumS: 12, under10ms: 0 }, 600), t0 + 60_000);
    rec.engineSampled(engineScrape({ count: 180, sumS: 18, under10ms: 120 }, 1_800), t0 + 119_000);
    const [first, second] = rec.rows();
    const create1 = first!.engine!.calls.create!;
    expect(create1.perSecond).toBeCloseTo(1, 9);
    expect(create1.meanMs).toBeCloseTo(200, 9);
    // Half of the first minute's 60 calls took 0.1–0.5 s and half 0.5–1 s: the median is 0.5 s.
    expect(create1.p50Ms).toBeCloseTo(500, 9);
    const create2 = second!.engine!.calls.create!;
    expect(create2.perSecond).toBeCloseTo(120 / 59, 9);
    expect(create2.meanMs).toBeCloseTo(50, 9);
    // All 120 calls of the second minute under 10 ms: the median is half that bucket.
    expect(create2.p50Ms).toBeCloseTo(5, 9);
    expect(second!.engine!.persistence.perSecond).toBeCloseTo(1_200 / 59, 9);
    expect(second!.engine!.persistence.meanMs).toBeCloseTo(2, 9);
    const markdown = renderMarkdown({ ...baseReport(), seedMix: runWith(rec.rows()), targets: [] } as never);
    expect(markdown).toContain("## The engine's time, minute by minute");
    expect(markdown).toContain('| 1 | 300 ms | 500 ms / 200 ms | - | - | - | - | 10.0/s, 2.00 ms |');
  });

  it('does not judge the per-minute targets without a think-time run', () => {
    const targets = evaluateTargets({ seedMix: runWith([]), rss: [], drainChecks: [] });
    expect(targets.find((t) => t.id === 'reads-per-minute')!.status).toBe('not run');
  });
});

/**
 * A /metrics text as the dev server writes it: the create call's histogram (history service;
 * the frontend's copy must be ignored) and persistence totals at 2 ms each. Half of the
 * calls that are not under 10 ms take 0.1–0.5 s, the other half 0.5–1 s.
 */
function engineScrape(create: { count: number; sumS: number; under10ms: number }, persistenceOps: number): EngineSnapshot {
  const rest = create.count - create.under10ms;
  const bucket = (le: string, n: number, service = 'history') =>
    `service_latency_bucket{operation="SignalWithStartWorkflowExecution",service_name="${service}",le="${le}"} ${n}`;
  const text = [
    '# HELP service_latency x',
    bucket('0.01', create.under10ms),
    bucket('0.1', create.under10ms),
    bucket('0.5', create.under10ms + rest / 2),
    bucket('1', create.count),
    bucket('+Inf', create.count),
    bucket('+Inf', 99_999, 'frontend'),
    `service_latency_sum{operation="SignalWithStartWorkflowExecution",service_name="history"} ${create.sumS}`,
    `service_latency_count{operation="SignalWithStartWorkflowExecution",service_name="history"} ${create.count}`,
    `service_latency_count{operation="SignalWithStartWorkflowExecution",service_name="frontend"} 99999`,
    `persistence_latency_sum{operation="UpdateWorkflowExecution",service_name="history"} ${(persistenceOps * 0.002) / 2}`,
    `persistence_latency_count{operation="UpdateWorkflowExecution",service_name="history"} ${persistenceOps / 2}`,
    `persistence_latency_sum{operation="GetCurrentExecution",service_name="history"} ${(persistenceOps * 0.002) / 2}`,
    `persistence_latency_count{operation="GetCurrentExecution",service_name="history"} ${persistenceOps / 2}`,
  ].join('\n');
  return parseEngineMetrics(text);
}

function baseReport() {
  return {
    scenario: 'seed-mix', startedAt: '2026-12-07T00:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'x', memoryGb: 24, os: 'linux', node: 'v26', temporal: '1.9.1' },
    git: { commit: 'abc', dirty: false }, loadavg: { start: [0], end: [0] }, failures: [], rss: [], drainChecks: [],
  };
}
