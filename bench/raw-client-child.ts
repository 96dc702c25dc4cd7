import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { leadServiceFromConfig } from '../src/api/compose.js';
import type { LeadService } from '../src/leads/lead-service.js';
import { loadConfig } from '../src/config.js';
import { LeadInput } from '../src/domain/lead.js';
import { WriteLedger, type LeadRecord } from './drain.js';
import type { RouteKey } from './stats.js';
import { EmailSource, leadBody } from './workload.js';

// Ceiling C2: the seed-mix loop on a raw Temporal client, without HTTP. It drives the
// API's own Temporal layer (src/leads/lead-service.ts, built from the same configuration as
// the API process), so it makes exactly the calls the API makes per route: workflow.start
// with conflict policy FAIL, query 'lead' (history fallback when no worker answers),
// signal 'leadChange', query 'task'; under the same deadlines. What it leaves out is
// Fastify: HTTP parsing, routing, response serialization. Runs as child processes of the
// benchmark, one per API process, so it gets the same share of the machine.

export interface RawRunRequest {
  type: 'run';
  /** The env the stack gives its API processes. */
  env: Record<string, string>;
  connections: number;
  /** Open loop: operations per second for each connection (autocannon's per-connection budget). */
  rates?: number[];
  warmupMs: number;
  durationMs: number;
  emailPrefix: string;
}

export interface RawRouteResult {
  route: RouteKey;
  latencies: Float64Array;
  responses: number;
  errors: number;
  timeouts: number;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; ok: number; errors: number; ackedCreates: number; phase: string }
  | {
      type: 'result';
      routes: RawRouteResult[];
      errorKinds: Record<string, number>;
      readSources: Record<string, number>;
      timeline: Array<{ t: number; ok: number; errors: number; ms: number[] }>;
      measuredMs: number;
      ledger: LeadRecord[];
      ackedCreates: number;
    }
  | { type: 'error'; message: string };

const send = (message: ChildMessage) => process.send?.(message);

class Recorder {
  latencies = new Float64Array(4096);
  n = 0;
  responses = 0;
  errors = 0;
  timeouts = 0;
  push(ms: number) {
    if (this.n === this.latencies.length) {
      const bigger = new Float64Array(this.n * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.n++] = ms;
  }
}

function errorKind(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]!.slice(0, 80)}`;
}

function isTimeout(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; name?: string; message?: string } | undefined, i = 0; e && i < 5; i++) {
    if (e.code === 4 || e.name === 'TemporalUnavailableError' || /deadline|timed out/i.test(e.message ?? '')) return true;
    e = e.cause as typeof e;
  }
  return false;
}

async function run(req: RawRunRequest, service: LeadService): Promise<void> {
  const ledger = new WriteLedger();
  const emails = new EmailSource(req.emailPrefix);
  let recorders = new Map<RouteKey, Recorder>();
  let errorKinds: Record<string, number> = {};
  let readSources: Record<string, number> = {};
  let timeline: Array<{ t: number; ok: number; errors: number; ms: number[] }> = [];
  let phase = req.warmupMs > 0 ? 'warm-up' : 'measure';
  let windowStart = performance.now();
  let ok = 0;
  let errors = 0;
  const reset = () => {
    recorders = new Map(['create', 'get', 'put', 'task'].map((r) => [r as RouteKey, new Recorder()]));
    errorKinds = {};
    readSources = {};
    timeline = [];
    windowStart = performance.now();
    ok = 0;
    errors = 0;
  };
  reset();
  const second = () => {
    const t = Math.floor((performance.now() - windowStart) / 1000);
    while (timeline.length <= t) timeline.push({ t: timeline.length, ok: 0, errors: 0, ms: [] });
    return timeline[t]!;
  };

  let stopping = false;
  const timed = async <T>(route: RouteKey, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
    const started = performance.now();
    try {
      const value = await fn();
      const recorder = recorders.get(route)!;
      const ms = performance.now() - started;
      recorder.responses += 1;
      recorder.push(ms);
      ok += 1;
      const point = second();
      point.ok += 1;
      point.ms.push(ms);
      return { ok: true, value };
    } catch (err) {
      const recorder = recorders.get(route)!;
      recorder.errors += 1;
      if (isTimeout(err)) recorder.timeouts += 1;
      const kind = errorKind(err);
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      errors += 1;
      second().errors += 1;
      return { ok: false };
    }
  };
  const source = (s: string) => {
    readSources[s] = (readSources[s] ?? 0) + 1;
  };

  const connection = async (index: number) => {
    // Open loop: at most `rate` operations per one-second window, like an autocannon client.
    const rate = req.rates?.[index];
    let windowAt = performance.now();
    let used = 0;
    const gate = async () => {
      if (!rate) return;
      for (;;) {
        const now = performance.now();
        if (now - windowAt >= 1000) {
          windowAt += Math.floor((now - windowAt) / 1000) * 1000;
          used = 0;
        }
        if (used < rate) {
          used += 1;
          return;
        }
        await sleep(windowAt + 1000 - now);
      }
    };
    while (!stopping) {
      const { email } = emails.next();
      await gate();
      if (stopping) break;
      const createMarker = ledger.attempt(email, true);
      const createBody = LeadInput.parse(leadBody(email, createMarker, 'create'));
      const created = await timed('create', () => service.create(createBody));
      if (!created.ok) continue;
      const id = created.value.id;
      ledger.ack(email, createMarker, true, id);

      await gate();
      if (stopping) break;
      const read = await timed('get', () => service.get(id));
      if (read.ok) source(read.value.source);

      await gate();
      if (stopping) break;
      const putMarker = ledger.attempt(email, false);
      const putBody = LeadInput.parse(leadBody(email, putMarker, 'replace'));
      const put = await timed('put', () => service.update(id, 'replace', putBody));
      if (!put.ok) continue;
      ledger.ack(email, putMarker, false);

      await gate();
      if (stopping) break;
      const taskId = put.value.task_id;
      const task = await timed('task', () => service.task(taskId));
      if (task.ok) source(task.value.source);
    }
  };

  const progress = setInterval(() => send({ type: 'progress', ok, errors, ackedCreates: ledger.ackedCreates, phase }), 1000);
  const loops = Array.from({ length: req.connections }, (_, i) => connection(i));
  if (req.warmupMs > 0) {
    await sleep(req.warmupMs);
    reset();
    phase = 'measure';
  }
  await sleep(req.durationMs);
  const measuredMs = performance.now() - windowStart;
  // The measured window ends here; calls still in flight finish outside it.
  const measured = { recorders, errorKinds, readSources, timeline };
  reset();
  stopping = true;
  await Promise.all(loops);
  await (service as { drain?: () => Promise<void> }).drain?.();
  clearInterval(progress);
  send({
    type: 'result',
    routes: [...measured.recorders].map(([route, r]) => ({
      route,
      latencies: r.latencies.slice(0, r.n),
      responses: r.responses,
      errors: r.errors,
      timeouts: r.timeouts,
    })),
    errorKinds: measured.errorKinds,
    readSources: measured.readSources,
    timeline: measured.timeline,
    measuredMs,
    ledger: ledger.records(),
    ackedCreates: ledger.ackedCreates,
  });
}

let connection: Connection | undefined;

process.on('message', (message: RawRunRequest | { type: 'connect'; address: string }) => {
  void (async () => {
    try {
      if (message.type === 'connect') {
        connection = await Connection.connect({ address: message.address });
        await connection.workflowService.getSystemInfo({});
        send({ type: 'ready' });
      } else if (message.type === 'run') {
        if (!connection) throw new Error('run before connect');
        const config = loadConfig({ ...process.env, ...message.env });
        const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
        await run(message, leadServiceFromConfig(config, client));
      }
    } catch (err) {
      send({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  })();
});

process.on('disconnect', () => {
  void connection?.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
