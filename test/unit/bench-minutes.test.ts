import { describe, expect, it } from 'vitest';
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
    rec.sampled({ worker: 410 }, t0 + 65_000);
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
        rec.answered('get', 20, t0 + m * 60_000 + i);
        rec.answered('task', m === 2 && i >= 98 ? 350 : 20, t0 + m * 60_000 + i);
        rec.answered('create', 15, t0 + m * 60_000 + i);
        rec.answered('put', m === 0 ? 45 : 12, t0 + m * 60_000 + i);
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

  it('does not judge the per-minute targets without a think-time run', () => {
    const targets = evaluateTargets({ seedMix: runWith([]), rss: [], drainChecks: [] });
    expect(targets.find((t) => t.id === 'reads-per-minute')!.status).toBe('not run');
  });
});

function baseReport() {
  return {
    scenario: 'seed-mix', startedAt: '2026-12-07T00:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'x', memoryGb: 24, os: 'linux', node: 'v26', temporal: '1.9.1' },
    git: { commit: 'abc', dirty: false }, loadavg: { start: [0], end: [0] }, failures: [], rss: [], drainChecks: [],
  };
}
