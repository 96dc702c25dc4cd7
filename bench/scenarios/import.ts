import { setTimeout as sleep } from 'node:timers/promises';
import { BATCH_MAX_LEADS } from '../../src/api/lead-batch.js';
import { BATCH_WRITE_CONCURRENCY } from '../../src/leads/batch-writes.js';
import { startBenchStack, type BenchStack } from '../bench-stack.js';
import { WriteLedger } from '../drain.js';
import { beginStep, log, runTail } from '../progress.js';
import { formatRate, formatSeconds } from '../stats.js';
import { EmailSource, leadBody } from '../workload.js';
import { stackOptions, withStack, type Ctx, type ImportRun } from './context.js';
import { drainCheck } from './steps.js';

// Issue #11's measurement: N leads imported and fully synced (CRM write + welcome email)
// through POST /api/leads/batch, against the same N leads sent one POST each. Each path
// gets a fresh stack, so the second one meets neither a larger database, a warm worker
// cache nor the first one's backlog, and both can use the same emails (the same lead ids,
// so exactly the same work for Temporal and the worker).

/**
 * One per API process (the default 2): more would not make Temporal start workflows any
 * faster, only make each batch wait longer for its share of it.
 */
const BATCHES_IN_FLIGHT = 2;
/** Longer than the batch route's own 45 s limit, so its 503 arrives rather than a client timeout. */
const BATCH_REQUEST_TIMEOUT_S = 60;
/** As many Temporal writes in flight for single POSTs as the API keeps open for the batches. */
const SINGLE_IN_FLIGHT = BATCHES_IN_FLIGHT * BATCH_WRITE_CONCURRENCY;
const MAX_ATTEMPTS = 5;

/** A lead to import; its id is the one the API's answer names. */
interface Lead {
  email: string;
}

interface Tally {
  requests: number;
  retried: number;
  accepted: number;
}

/**
 * POSTs until the API answers 202, sending again what it says to retry (503, 429, a lost
 * connection) after its Retry-After. `request` is called for every attempt.
 */
async function postUntilAccepted(url: string, timeoutS: number, request: () => { body: unknown; headers?: Record<string, string> }, tally: Tally): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const { body, headers } = request();
    tally.requests += 1;
    let answer: { status: number; text: string; retryAfter: string | null } | undefined;
    let why: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutS * 1000),
      });
      answer = { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
      why = `${answer.status} ${answer.text.slice(0, 200)}`;
    } catch (err) {
      why = (err as Error).message;
    }
    if (answer?.status === 202) return JSON.parse(answer.text);
    if (answer && answer.status !== 503 && answer.status !== 429) throw new Error(`POST ${url} answered ${why}`);
    if (attempt >= MAX_ATTEMPTS) throw new Error(`POST ${url} not accepted after ${attempt} attempts: ${why}`);
    tally.retried += 1;
    await sleep((Number(answer?.retryAfter) || 1) * 1000);
  }
}

/** Runs `send` over `units` with `inFlight` at a time, logging progress every 5 s. */
async function sendAll<T>(label: string, units: readonly T[], inFlight: number, tally: Tally, total: number, send: (unit: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const progress = setInterval(() => log(`${label}: ${tally.accepted}/${total} leads accepted, ${tally.requests} requests, ${tally.retried} retried${runTail()}`), 5000);
  try {
    const sender = async () => {
      while (next < units.length) {
        const i = next++;
        await send(units[i]!, i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, units.length) }, sender));
  } finally {
    clearInterval(progress);
  }
}

/** Chunks of 500, each with its own Idempotency-Key: a retried chunk applies each lead once. */
async function sendBatches(ctx: Ctx, stack: BenchStack, leads: readonly Lead[], ledger: WriteLedger, tally: Tally): Promise<void> {
  const chunks: Lead[][] = [];
  for (let i = 0; i < leads.length; i += BATCH_MAX_LEADS) chunks.push(leads.slice(i, i + BATCH_MAX_LEADS));
  await sendAll('import batch', chunks, BATCHES_IN_FLIGHT, tally, leads.length, async (chunk, i) => {
    const markers = chunk.map((lead) => ledger.attempt(lead.email, true));
    const body = { leads: chunk.map((lead, j) => leadBody(lead.email, markers[j]!, 'create')) };
    const headers = { 'idempotency-key': `${ctx.runId}-import-${i}` };
    const answer = (await postUntilAccepted(`${stack.apiUrl}/api/leads/batch`, BATCH_REQUEST_TIMEOUT_S, () => ({ body, headers }), tally)) as {
      accepted: number;
      items: Array<{ index: number; id?: string }>;
    };
    if (answer.accepted !== chunk.length) throw new Error(`batch ${i}: ${answer.accepted} of ${chunk.length} leads accepted`);
    // Each item names the lead its create landed on, by its index in the chunk.
    const ids = new Map(answer.items.map((item) => [item.index, item.id]));
    chunk.forEach((lead, j) => ledger.ack(lead.email, markers[j]!, true, ids.get(j)));
    tally.accepted += chunk.length;
  });
}

/** One POST per lead, without a key (as seed-mix sends them): a resent create is a new write. */
async function sendSingles(ctx: Ctx, stack: BenchStack, leads: readonly Lead[], ledger: WriteLedger, tally: Tally): Promise<void> {
  await sendAll('import single', leads, SINGLE_IN_FLIGHT, tally, leads.length, async (lead) => {
    let marker = 0;
    const answer = await postUntilAccepted(
      `${stack.apiUrl}/api/leads`,
      ctx.options.timeoutS,
      () => {
        marker = ledger.attempt(lead.email, true);
        return { body: leadBody(lead.email, marker, 'create') };
      },
      tally,
    );
    ledger.ack(lead.email, marker, true, (answer as { id?: string }).id);
    tally.accepted += 1;
  });
}

async function importOn(ctx: Ctx, stack: BenchStack, path: ImportRun['path'], leads: readonly Lead[]): Promise<ImportRun> {
  const label = `import ${path}`;
  const ledger = new WriteLedger();
  const tally: Tally = { requests: 0, retried: 0, accepted: 0 };
  const inFlight = path === 'batch' ? BATCHES_IN_FLIGHT : SINGLE_IN_FLIGHT;
  beginStep(label);
  log(`${label}: ${leads.length} leads, ${path === 'batch' ? `${BATCH_MAX_LEADS} per request` : 'one per request'}, ${inFlight} requests in flight …`);
  const started = Date.now();
  if (path === 'batch') await sendBatches(ctx, stack, leads, ledger, tally);
  else await sendSingles(ctx, stack, leads, ledger, tally);
  const accepted = Date.now();
  const acceptS = (accepted - started) / 1000;
  log(`${label}: all ${leads.length} leads accepted in ${formatSeconds(acceptS)} (${formatRate(leads.length / acceptS)} leads/s, ${tally.requests} requests, ${tally.retried} retried)`);
  const drain = await drainCheck(ctx, stack, ledger, label, accepted, started);
  const syncedS = acceptS + drain.drainSeconds;
  log(`${label}: all synced ${formatSeconds(syncedS)} after the first request (${formatRate(leads.length / syncedS)} leads/s)`);
  return {
    path,
    leads: leads.length,
    leadsPerRequest: path === 'batch' ? BATCH_MAX_LEADS : 1,
    inFlight,
    requests: tally.requests,
    retried: tally.retried,
    acceptS,
    syncedS,
    drain,
  };
}

export async function importScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const emails = new EmailSource(`${ctx.runId}imp`);
  const leads = Array.from({ length: options.importLeads }, () => emails.next());
  ctx.report.leadImport = [];
  for (const path of ['batch', 'single'] as const) {
    log(`import ${path}: starting a fresh stack (${options.apiProcesses} API process(es), ${options.workerProcesses} worker(s)) …`);
    const stack = await startBenchStack(stackOptions(options));
    ctx.report.flags ??= stack.flags;
    await withStack(ctx, stack, async () => {
      ctx.report.leadImport!.push(await importOn(ctx, stack, path, leads));
    });
  }
}
