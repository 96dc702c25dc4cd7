import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { leadWorkflowId } from '../src/domain/ids.js';
import type { LeadWorkflowSettings } from '../src/workflows/lead-workflow.js';
import { leadQuery, taskQuery } from '../src/workflows/messages.js';
import { WriteLedger, type LeadRecord } from './drain.js';
import { replaceLead, startLead } from './raw-calls.js';
import type { RouteKey } from './stats.js';
import { EmailSource } from './workload.js';

// Ceiling C2: the seed-mix loop as raw Temporal client calls, without HTTP. Makes exactly
// the calls src/api/lead-service.ts makes per route (workflow.start with conflict policy
// FAIL, query 'lead', signal 'leadChange', query 'task'), under the same deadlines. Runs as
// a child process of the benchmark, one per API process, so it gets the same CPU share.

export interface RawRunRequest {
  type: 'run';
  address: string;
  namespace: string;
  taskQueue: string;
  settings: LeadWorkflowSettings;
  queryTimeoutMs: number;
  writeTimeoutMs: number;
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
      timeline: Array<{ t: number; ok: number; errors: number }>;
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
  const e = err as { name?: string; code?: unknown; message?: string; cause?: { message?: string } };
  const msg = (e.message ?? String(err)).split('\n')[0]!.slice(0, 80);
  return `${e.name ?? 'Error'}: ${msg}`;
}

function isDeadline(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (e.code === 4) return true; // gRPC DEADLINE_EXCEEDED
    e = e.cause as typeof e;
  }
  return /deadline/i.test(String((err as Error)?.message));
}

async function run(req: RawRunRequest, client: Client): Promise<void> {
  const ledger = new WriteLedger();
  const emails = new EmailSource(req.emailPrefix);
  let recorders = new Map<RouteKey, Recorder>();
  let errorKinds: Record<string, number> = {};
  let timeline: Array<{ t: number; ok: number; errors: number }> = [];
  let phase = req.warmupMs > 0 ? 'warm-up' : 'measure';
  let windowStart = performance.now();
  let ok = 0;
  let errors = 0;
  const reset = () => {
    recorders = new Map(['create', 'get', 'put', 'task'].map((r) => [r as RouteKey, new Recorder()]));
    errorKinds = {};
    timeline = [];
    windowStart = performance.now();
    ok = 0;
    errors = 0;
  };
  reset();
  const second = () => {
    const t = Math.floor((performance.now() - windowStart) / 1000);
    while (timeline.length <= t) timeline.push({ t: timeline.length, ok: 0, errors: 0 });
    return timeline[t]!;
  };

  let stopping = false;
  const timed = async <T>(route: RouteKey, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
    const started = performance.now();
    try {
      const value = await fn();
      const recorder = recorders.get(route)!;
      recorder.responses += 1;
      recorder.push(performance.now() - started);
      ok += 1;
      second().ok += 1;
      return { ok: true, value };
    } catch (err) {
      const recorder = recorders.get(route)!;
      recorder.errors += 1;
      if (isDeadline(err)) recorder.timeouts += 1;
      const kind = errorKind(err);
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      errors += 1;
      second().errors += 1;
      return { ok: false };
    }
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
      const { email, leadId } = emails.next();
      const handle = client.workflow.getHandle(leadWorkflowId(leadId));
      await gate();
      if (stopping) break;
      const createMarker = ledger.attempt(leadId, true);
      const created = await timed('create', () => startLead(client, req, email, leadId, createMarker));
      if (!created.ok) continue;
      ledger.ack(leadId, createMarker, true);

      await gate();
      if (stopping) break;
      await timed('get', () => client.withDeadline(Date.now() + req.queryTimeoutMs, () => handle.query(leadQuery)));

      await gate();
      if (stopping) break;
      const putMarker = ledger.attempt(leadId, false);
      const put = await timed('put', () => replaceLead(client, req, email, leadId, putMarker));
      if (!put.ok) continue;
      ledger.ack(leadId, putMarker, false);

      await gate();
      if (stopping) break;
      const taskId = put.value;
      await timed('task', () => client.withDeadline(Date.now() + req.queryTimeoutMs, () => handle.query(taskQuery, taskId)));
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
  // Snapshot the measured window before in-flight calls finish.
  const measured = recorders;
  const measuredKinds = errorKinds;
  const measuredTimeline = timeline;
  reset();
  stopping = true;
  await Promise.all(loops);
  clearInterval(progress);
  send({
    type: 'result',
    routes: [...measured].map(([route, r]) => ({
      route,
      latencies: r.latencies.slice(0, r.n),
      responses: r.responses,
      errors: r.errors,
      timeouts: r.timeouts,
    })),
    errorKinds: measuredKinds,
    timeline: measuredTimeline,
    measuredMs,
    ledger: ledger.records(),
    ackedCreates: ledger.ackedCreates,
  });
}

let connection: Connection | undefined;

process.on('message', (message: RawRunRequest | { type: 'connect'; address: string; namespace: string }) => {
  void (async () => {
    try {
      if (message.type === 'connect') {
        connection = await Connection.connect({ address: message.address });
        await connection.workflowService.getSystemInfo({});
        send({ type: 'ready' });
      } else if (message.type === 'run') {
        if (!connection) throw new Error('run before connect');
        const client = new Client({ connection, namespace: message.namespace });
        await run(message, client);
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
