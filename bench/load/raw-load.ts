import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchStack } from '../bench-stack.js';
import { onCleanup } from '../cleanup.js';
import type { WriteLedger } from '../drain.js';
import { startMonitor } from '../progress.js';
import type { ChildMessage, RawRunRequest } from '../raw-client-child.js';
import { connectionsFor, ROUTES, summarize, totalsOf, type RouteKey, type RouteStats } from '../stats.js';
import type { LoadRun, TimelinePoint } from './types.js';
import { withP99 } from './window.js';

// Parent side of ceiling C2: forks the raw-client processes, starts them together, adds
// up their progress and results, and merges their write ledgers for the drain check.

const CHILD = fileURLToPath(new URL('../raw-client-child.js', import.meta.url));

export interface RawLoadOptions {
  label: string;
  stack: BenchStack;
  connections: number;
  processes: number;
  warmupS: number;
  durationS: number;
  /** Open loop: operations per second over all connections. */
  overallRate?: number;
  emailPrefix: string;
  ledger: WriteLedger;
}

/** autocannon's split of a total over connections: the first `total % n` get one more. */
export function distribute(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i + 1 <= total % n ? 1 : 0));
}

/** Splits `n` connections over `k` processes as evenly as possible. */
export function split(n: number, k: number): number[] {
  return distribute(n, k).filter((c) => c > 0);
}

interface Child {
  process: ChildProcess;
  progress: { ok: number; errors: number; ackedCreates: number; phase: string };
  result?: Extract<ChildMessage, { type: 'result' }>;
}

function waitFor<T extends ChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type === type) {
        cleanup();
        resolve(message as Extract<ChildMessage, { type: T }>);
      } else if (message.type === 'error') {
        cleanup();
        reject(new Error(`raw client process failed: ${message.message}`));
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`raw client process exited (${code}) before '${type}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export async function runRawLoad(opts: RawLoadOptions): Promise<LoadRun> {
  const { stack } = opts;
  // Like autocannon: with a rate below the connection count, one request per second per connection.
  const connections = connectionsFor(opts.connections, opts.overallRate);
  const perProcess = split(connections, opts.processes);
  const rates = opts.overallRate ? distribute(Math.max(1, Math.round(opts.overallRate)), connections) : undefined;
  const children: Child[] = perProcess.map(() => ({
    process: fork(CHILD, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    progress: { ok: 0, errors: 0, ackedCreates: 0, phase: 'start' },
  }));
  const unregister = onCleanup('raw client processes', async () => {
    for (const c of children) c.process.kill('SIGKILL');
  });
  try {
    for (const c of children) {
      c.process.on('message', (m: ChildMessage) => {
        if (m.type === 'progress') c.progress = m;
      });
    }
    await Promise.all(
      children.map((c) => {
        const ready = waitFor(c.process, 'ready');
        c.process.send({ type: 'connect', address: stack.temporalAddress });
        return ready;
      }),
    );
    const load = { start: loadavg(), end: [] as number[] };
    const started = Date.now();
    const monitor = startMonitor({
      label: opts.label,
      totalS: opts.warmupS + opts.durationS,
      counters: () => ({
        ok: children.reduce((t, c) => t + c.progress.ok, 0),
        errors: children.reduce((t, c) => t + c.progress.errors, 0),
        non2xx: 0,
        ackedCreates: children.reduce((t, c) => t + c.progress.ackedCreates, 0),
        phase: children[0]?.progress.phase ?? '',
      }),
      sim: stack.sim,
      rss: stack.rss,
    });
    let offset = 0;
    const results = await Promise.all(
      children.map((c, i) => {
        const connections = perProcess[i]!;
        const request: RawRunRequest = {
          type: 'run',
          env: stack.env,
          connections,
          ...(rates ? { rates: rates.slice(offset, offset + connections) } : {}),
          warmupMs: opts.warmupS * 1000,
          durationMs: opts.durationS * 1000,
          emailPrefix: `${opts.emailPrefix}p${i}`,
        };
        offset += connections;
        const result = waitFor(c.process, 'result');
        c.process.send(request);
        return result;
      }),
    );
    const backlog = monitor.stop();
    load.end = loadavg();

    const durationS = Math.max(...results.map((r) => r.measuredMs)) / 1000;
    const routes: RouteStats[] = [];
    const all: number[] = [];
    for (const route of ROUTES) {
      const parts = results.flatMap((r) => r.routes.filter((x) => x.route === route));
      const latencies: number[] = [];
      for (const p of parts) for (const v of p.latencies) latencies.push(v);
      for (const v of latencies) all.push(v);
      const responses = parts.reduce((t, p) => t + p.responses, 0);
      routes.push({
        route: route as RouteKey,
        responses,
        ok: responses,
        non2xx: 0,
        errors: parts.reduce((t, p) => t + p.errors, 0),
        timeouts: parts.reduce((t, p) => t + p.timeouts, 0),
        rps: responses / durationS,
        latency: summarize(latencies),
      });
    }
    const errorKinds: Record<string, number> = {};
    const readSources: Record<string, number> = {};
    const timeline: TimelinePoint[] = [];
    const perSecondMs: number[][] = [];
    for (const r of results) {
      for (const [k, v] of Object.entries(r.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
      for (const [k, v] of Object.entries(r.readSources)) readSources[k] = (readSources[k] ?? 0) + v;
      for (const p of r.timeline) {
        while (timeline.length <= p.t) timeline.push({ t: timeline.length, ok: 0, errors: 0 });
        timeline[p.t]!.ok += p.ok;
        timeline[p.t]!.errors += p.errors;
        while (perSecondMs.length <= p.t) perSecondMs.push([]);
        for (const v of p.ms) perSecondMs[p.t]!.push(v);
      }
      opts.ledger.merge(r.ledger);
    }
    return {
      label: opts.label,
      kind: 'raw',
      mode: opts.overallRate ? 'open' : 'closed',
      connections,
      processes: children.length,
      ...(opts.overallRate ? { offeredRate: opts.overallRate } : {}),
      warmupS: opts.warmupS,
      durationS,
      routes,
      totals: totalsOf(routes, all, durationS, { resets: 0 }),
      statusCounts: {},
      errorKinds,
      readSources,
      timeline: withP99(timeline, perSecondMs),
      backlog,
      createRate: opts.ledger.ackedCreates / ((Date.now() - started) / 1000),
      loadavg: load,
    };
  } finally {
    for (const c of children) if (c.process.connected) c.process.disconnect();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.process.kill('SIGKILL'), 5000);
            c.process.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    unregister();
  }
}
