import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { startBenchStack, type BenchStack } from '../bench-stack.js';
import { resetSimulators, WriteLedger } from '../drain.js';
import { beginStep, log } from '../progress.js';
import { formatMs, formatSeconds } from '../stats.js';
import { EmailSource, leadBody } from '../workload.js';
import { stackOptions, withStack, type CanReadResult, type Ctx, type ScaleEntry } from './context.js';
import { drainCheck, runC3, runSeedMix } from './steps.js';

// Scale: seed-mix throughput and worker drain rate with 1 and 2 API processes and 1 and 2
// worker processes (a fresh stack each), and the read latency of a lead with one update
// against one with many (continue-as-new keeps its history, and so its reads, bounded).

export const SCALE_CONFIGS: Array<[api: number, workers: number]> = [
  [1, 1],
  [2, 1],
  [1, 2],
  [2, 2],
];

async function send(url: string, method: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function readLatency(
  stack: BenchStack,
  id: string,
  durationS: number,
): Promise<{ summary: CanReadResult['oneUpdate']; sources: Record<string, number> }> {
  const sources: Record<string, number> = {};
  const result = await autocannon({
    url: stack.apiUrl,
    connections: 10,
    duration: durationS,
    requests: [
      {
        method: 'GET',
        path: `/api/leads/${id}`,
        onResponse(_status, _body, _context, headers) {
          const source = headers['x-read-source'];
          if (typeof source === 'string') sources[source] = (sources[source] ?? 0) + 1;
        },
      },
    ],
  });
  const l = result.latency;
  return {
    summary: { count: result['2xx'], mean: l.mean, p50: l.p50, p90: l.p90, p99: l.p99, max: l.max, rps: result['2xx'] / result.duration },
    sources: { ...sources, ...(result.non2xx ? { 'non-2xx': result.non2xx } : {}), ...(result.errors ? { errors: result.errors } : {}) },
  };
}

export async function canReadTest(ctx: Ctx, stack: BenchStack): Promise<CanReadResult> {
  const updates = ctx.options.canUpdates;
  beginStep('continue-as-new read test');
  await resetSimulators(stack.sim);
  const ledger = new WriteLedger();
  const emails = new EmailSource(`${ctx.runId}can`);
  // Each lead's id is the one its create's answer names.
  const create = async ({ email }: { email: string }) => {
    const marker = ledger.attempt(email, true);
    const res = await send(`${stack.apiUrl}/api/leads`, 'POST', leadBody(email, marker, 'create'));
    if (res.status !== 202 || typeof res.json.id !== 'string') throw new Error(`POST /api/leads answered ${res.status} ${JSON.stringify(res.json)}`);
    ledger.ack(email, marker, true, res.json.id);
    return { email, leadId: res.json.id };
  };
  const a = await create(emails.next());
  const b = await create(emails.next());
  log(`continue-as-new read test: ${updates} sequential PUTs to one lead …`);
  const started = Date.now();
  for (let i = 0; i < updates; i++) {
    const marker = ledger.attempt(b.email, false);
    const res = await send(`${stack.apiUrl}/api/leads/${b.leadId}`, 'PUT', leadBody(b.email, marker, 'replace'));
    if (res.status === 202) ledger.ack(b.email, marker, false);
  }
  const updateSeconds = (Date.now() - started) / 1000;
  const drain = await drainCheck(ctx, stack, ledger, `continue-as-new (${updates} updates)`, Date.now());

  const connection = await Connection.connect({ address: stack.temporalAddress });
  let runs: number | undefined;
  let historyLength: number | undefined;
  let continuedAsNew = false;
  try {
    const client = new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE });
    const workflowId = leadWorkflowId(b.leadId);
    const description = await client.workflow.getHandle(workflowId).describe();
    historyLength = description.historyLength;
    const firstRunId = (description.raw.workflowExecutionInfo as { firstRunId?: string } | null | undefined)?.firstRunId;
    continuedAsNew = !!firstRunId && firstRunId !== description.runId;
    try {
      let n = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n += 1;
      runs = n;
      continuedAsNew ||= n > 1;
    } catch {
      // visibility listing unavailable: the run ids tell enough
    }
  } finally {
    await connection.close();
  }

  const one = await readLatency(stack, a.leadId, 10);
  const many = await readLatency(stack, b.leadId, 10);
  log(
    `continue-as-new read test: p50/p99 ${formatMs(one.summary.p50)}/${formatMs(one.summary.p99)} (1 write) vs ` +
      `${formatMs(many.summary.p50)}/${formatMs(many.summary.p99)} (${updates + 1} writes, ${runs ?? '?'} runs, current history ${historyLength ?? '?'} events)`,
  );
  return {
    updates,
    ...(runs !== undefined ? { runs } : {}),
    ...(historyLength !== undefined ? { historyLength } : {}),
    continuedAsNew,
    readSources: { one: one.sources, many: many.sources },
    oneUpdate: one.summary,
    manyUpdates: many.summary,
    updateSeconds,
    drain,
  };
}

export async function scaleScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const entries: ScaleEntry[] = [];
  ctx.report.scale = { entries };
  for (const [api, workers] of SCALE_CONFIGS) {
    log(`scale: ${api} API process(es), ${workers} worker process(es)`);
    const stack = await startBenchStack({ ...stackOptions(options), apiProcesses: api, workerProcesses: workers });
    ctx.report.flags ??= stack.flags;
    await withStack(ctx, stack, async () => {
      const run = await runSeedMix(ctx, stack, {
        label: `scale ${api}api/${workers}w`,
        durationS: options.scaleDurationS,
        warmupS: 5,
      });
      const c3 = await runC3(ctx, stack, { label: `scale ${api}api/${workers}w C3` });
      entries.push({ apiProcesses: api, workerProcesses: workers, run, c3 });
      if (api === 1 && workers === 1) ctx.report.scale!.canRead = await canReadTest(ctx, stack);
    });
  }
  log(`scale: done in ${formatSeconds((Date.now() - Date.parse(ctx.report.startedAt)) / 1000)}`);
}
