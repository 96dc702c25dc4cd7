import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { LeadInput } from '../../src/domain/lead.js';
import { startChild } from '../../tooling/stack/supervisor.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import type { BenchStack } from '../bench-stack.js';
import { onCleanup } from '../cleanup.js';
import { resetSimulators, simCounts, waitForDrain, WriteLedger, type DrainResult } from '../drain.js';
import { runHttpLoad } from '../load/http-load.js';
import { runUserLoad } from '../load/user-load.js';
import { runRawLoad } from '../load/raw-load.js';
import type { LoadRun } from '../load/types.js';
import { beginStep, log, runTail } from '../progress.js';
import { peakMbOf } from '../rss.js';
import { formatRate, formatSeconds } from '../stats.js';
import { EmailSource, leadBody } from '../workload.js';
import type { C3Result, Ctx } from './context.js';

// The building blocks scenarios are made of: one load run against one target, each
// followed by its drain check.

const C0_SERVER = fileURLToPath(new URL('../c0-server.js', import.meta.url));

let emailSeq = 0;

/** Leads per second each stack processed end to end so far (load + drain), to size C3. */
const processRates = new WeakMap<BenchStack, number>();

/** C3's preload: about 30 s of work at the rate seen so far, 200 to 1000 leads. */
export function c3LeadsFor(rate: number | undefined): number {
  if (rate === undefined || !(rate > 0)) return 300;
  return Math.max(200, Math.min(1000, Math.round((rate * 30) / 50) * 50));
}
const emailsFor = (ctx: Ctx, tag: string) => new EmailSource(`${ctx.runId}${tag}${(emailSeq++).toString(36)}`);

/** Waits for the backlog to drain and verifies it; a failed check fails the benchmark. */
export async function drainCheck(
  ctx: Ctx,
  stack: BenchStack,
  ledger: WriteLedger,
  run: string,
  loadEndedAt: number,
  loadStartedAt?: number,
): Promise<DrainResult> {
  log(`${run}: drain check: waiting for ${ledger.ackedCreates} leads / ${ledger.ackedWrites} acknowledged writes …`);
  const result = await waitForDrain(stack.sim, ledger, {
    loadEndedAt,
    timeoutMs: ctx.options.drainTimeoutS * 1000,
    onWait: (counts, expected) =>
      log(`${run}: draining: CRM has ${counts.contacts}/${expected} leads, sink ${counts.emails}/${expected} welcome emails${runTail()}`),
  });
  ctx.report.drainChecks.push({ run, result });
  // Out-of-order content does not slow processing down: any check that did not time out tells the rate.
  if (loadStartedAt !== undefined && !result.timedOut) {
    const rate = ledger.ackedCreates / ((loadEndedAt - loadStartedAt) / 1000 + result.drainSeconds);
    processRates.set(stack, Math.max(processRates.get(stack) ?? 0, rate));
  }
  const v = result.verdict;
  if (result.ok) {
    log(`${run}: drain check passed: ${v.leadsChecked} leads, ${v.writesChecked} writes, drained ${formatSeconds(result.drainSeconds)} after the load stopped`);
  } else {
    const why = `missing ${v.missingContacts}, behind ${v.behind}, ahead ${v.ahead}, stale ${v.staleContent}, no email ${v.missingEmails}, duplicate email ${v.duplicateEmails}`;
    log(`${run}: DRAIN CHECK FAILED (${result.timedOut ? 'timed out' : result.stalled ? 'stalled' : 'settled'}): ${why}`);
    for (const e of v.examples) log(`  lead ${e.leadId}: ${e.problem}`);
    ctx.report.failures.push(`drain check failed after ${run}: ${why}`);
  }
  if (stack.fatal) ctx.report.failures.push(`${run}: ${stack.fatal}`);
  return result;
}

/** C0: the same HTTP load against a bare Fastify server with fixed answers. */
export async function runC0(ctx: Ctx, processes: number): Promise<LoadRun> {
  const port = await getFreePort();
  const server = await startChild(
    {
      name: 'c0',
      command: process.execPath,
      args: [C0_SERVER],
      env: { C0_PORT: String(port), C0_PROCESSES: String(processes) },
      readyWhen: /c0: listening on/,
    },
    (message) => log(`C0 server: ${message}`),
  );
  const unregister = onCleanup('C0 server', () => server.stop());
  try {
    beginStep('C0 bare Fastify');
    log(`C0: bare Fastify (${processes} process${processes > 1 ? 'es' : ''}), ${ctx.options.connections} connections, ${ctx.options.ceilingDurationS} s`);
    return await runHttpLoad({
      label: 'C0 bare Fastify',
      url: `http://127.0.0.1:${port}`,
      connections: ctx.options.connections,
      warmupS: Math.min(5, ctx.options.warmupS),
      durationS: ctx.options.ceilingDurationS,
      timeoutS: ctx.options.timeoutS,
      emails: emailsFor(ctx, 'c'),
      serverProcesses: processes,
    });
  } finally {
    server.markStopping();
    await server.stop();
    unregister();
  }
}

export interface LoadStepOptions {
  label: string;
  durationS: number;
  warmupS: number;
  overallRate?: number;
}

/** C2: the raw Temporal client, one process per API process, then the drain check. */
export async function runC2(ctx: Ctx, stack: BenchStack, step: LoadStepOptions): Promise<LoadRun> {
  await resetSimulators(stack.sim);
  const ledger = new WriteLedger();
  const started = Date.now();
  beginStep(step.label);
  log(`${step.label}: raw Temporal client, ${ctx.options.connections} connections in ${stack.flags.apiProcesses} process(es), ${step.warmupS} s warm-up + ${step.durationS} s${step.overallRate ? `, open loop at ${formatRate(step.overallRate)} ops/s` : ''}`);
  const run = await runRawLoad({
    label: step.label,
    stack,
    connections: ctx.options.connections,
    processes: stack.flags.apiProcesses,
    warmupS: step.warmupS,
    durationS: step.durationS,
    ...(step.overallRate ? { overallRate: step.overallRate } : {}),
    emailPrefix: `${ctx.runId}r${(emailSeq++).toString(36)}`,
    ledger,
  });
  run.drain = await drainCheck(ctx, stack, ledger, step.label, Date.now(), started);
  return run;
}

/** The seed-mix loop over HTTP against the API, then the drain check. */
export async function runSeedMix(ctx: Ctx, stack: BenchStack, step: LoadStepOptions): Promise<LoadRun> {
  await resetSimulators(stack.sim);
  const ledger = new WriteLedger();
  const started = Date.now();
  beginStep(step.label);
  const { thinkMs } = ctx.options;
  log(
    `${step.label}: ${ctx.options.connections} ${thinkMs ? `users pausing ~${thinkMs} ms between requests` : 'connections'}, ` +
      `${step.warmupS} s warm-up + ${step.durationS} s${step.overallRate ? `, open loop at ${formatRate(step.overallRate)} req/s` : ''}`,
  );
  const common = {
    label: step.label,
    url: stack.apiUrl,
    warmupS: step.warmupS,
    durationS: step.durationS,
    timeoutS: ctx.options.timeoutS,
    emails: emailsFor(ctx, 'h'),
    ledger,
    sim: stack.sim,
    rss: stack.rss,
    serverProcesses: stack.flags.apiProcesses,
  };
  const run = thinkMs && !step.overallRate
    ? await runUserLoad({
        ...common,
        users: ctx.options.connections,
        thinkMs,
        probe: rawProbe(ctx, stack, thinkMs),
        engineMetricsUrl: stack.temporalMetricsUrl(),
      })
    : await runHttpLoad({
        ...common,
        connections: ctx.options.connections,
        ...(step.overallRate ? { overallRate: step.overallRate } : {}),
      });
  run.drain = await drainCheck(ctx, stack, ledger, step.label, Date.now(), started);
  return run;
}

/**
 * Beside a think-time seed-mix, one raw-client user (the API's own lead service over the
 * same Temporal, in this process, no HTTP) creating and replacing leads a think time apart:
 * what the same writes cost without the API, minute by minute (issue #24, point 3).
 */
function rawProbe(ctx: Ctx, stack: BenchStack, thinkMs: number): NonNullable<Parameters<typeof runUserLoad>[0]['probe']> {
  return async (record, stopAt) => {
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const service = leadServiceFromConfig(stack.config, new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE }));
      const emails = emailsFor(ctx, 'p');
      const timed = async <T>(key: 'raw-create' | 'raw-put', call: () => Promise<T>): Promise<T> => {
        const at = performance.now();
        const result = await call();
        record(key, performance.now() - at);
        return result;
      };
      while (Date.now() < stopAt) {
        const { email } = emails.next();
        const created = await timed('raw-create', () => service.create(LeadInput.parse(leadBody(email, 1, 'create'))));
        await sleep(thinkMs);
        await timed('raw-put', () => service.update(created.id, 'replace', LeadInput.parse(leadBody(email, 2, 'replace'))));
        await sleep(thinkMs);
      }
    } finally {
      await connection.close();
    }
  };
}

/**
 * C3: stop the workers, preload `leads` leads as the API would create them, start the
 * workers again and time how fast leads get fully processed (CRM contact + welcome email).
 */
export async function runC3(
  ctx: Ctx,
  stack: BenchStack,
  opts: { leads?: number; workerEnv?: Record<string, string>; label?: string },
): Promise<C3Result> {
  const label = opts.label ?? 'C3 worker drain';
  beginStep(label);
  const leads = opts.leads ?? ctx.options.c3Leads ?? c3LeadsFor(processRates.get(stack));
  const workerEnv = opts.workerEnv ?? {};
  stack.rss.sample();
  await stack.stopWorkers();
  await resetSimulators(stack.sim);
  const ledger = new WriteLedger();
  const emails = emailsFor(ctx, 'd');
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const preloadStarted = Date.now();
  try {
    const client = new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE });
    // The API's own create (workflow.start), with a generous deadline: this is set-up, not measured.
    const service = leadServiceFromConfig({ ...stack.config, WRITE_TIMEOUT_MS: 60_000 }, client);
    let next = 0;
    const loop = async () => {
      while (next < leads) {
        next += 1;
        const { email } = emails.next();
        const marker = ledger.attempt(email, true);
        const created = await service.create(LeadInput.parse(leadBody(email, marker, 'create')));
        ledger.ack(email, marker, true, created.id);
      }
    };
    log(`${label}: workers stopped; preloading ${leads} leads …`);
    await Promise.all(Array.from({ length: ctx.options.connections }, loop));
  } finally {
    await connection.close();
  }
  const preloadS = (Date.now() - preloadStarted) / 1000;
  const workerCount = stack.flags.workerProcesses;
  log(`${label}: preloaded in ${formatSeconds(preloadS)}; starting ${workerCount} worker(s)${Object.keys(workerEnv).length ? ` with ${JSON.stringify(workerEnv)}` : ''} …`);
  const spawnedAt = Date.now();
  await stack.startWorkers(workerCount, workerEnv);
  const readyAt = Date.now();

  // Poll the simulators: a lead is done when both its CRM contact and its email arrived.
  const marks: { p10?: number; p90?: number; done?: number } = {};
  const deadline = readyAt + ctx.options.drainTimeoutS * 1000;
  let lastLog = readyAt;
  for (;;) {
    const counts = await simCounts(stack.sim).catch(() => undefined);
    const now = Date.now();
    const done = counts ? Math.min(counts.contacts, counts.emails) : 0;
    if (marks.p10 === undefined && done >= leads * 0.1) marks.p10 = now;
    if (marks.p90 === undefined && done >= leads * 0.9) marks.p90 = now;
    if (done >= leads) {
      marks.done = now;
      break;
    }
    if (now > deadline) break;
    if (now - lastLog >= 5000) {
      lastLog = now;
      log(`${label}: ${done}/${leads} leads processed, ${formatRate((done * 1000) / (now - readyAt))} leads/s${runTail()}`);
      stack.rss.sample();
    }
    await sleep(100);
  }
  const peaks = stack.workerPids().map(peakMbOf).filter((mb): mb is number => mb !== undefined);
  const drain = await drainCheck(ctx, stack, ledger, label, readyAt);
  const drainS = ((marks.done ?? Date.now()) - readyAt) / 1000;
  const steadyS = marks.p10 !== undefined && marks.p90 !== undefined ? (marks.p90 - marks.p10) / 1000 : 0;
  const result: C3Result = {
    leads: leads,
    preloadS,
    workerStartS: (readyAt - spawnedAt) / 1000,
    drainS,
    rate: marks.done ? leads / drainS : 0,
    steadyRate: steadyS > 0 ? (leads * 0.8) / steadyS : 0,
    workerEnv,
    ...(peaks.length ? { workerPeakMb: Math.max(...peaks) } : {}),
    drain,
  };
  log(`${label}: ${leads} leads in ${formatSeconds(drainS)} = ${formatRate(result.rate)} leads/s (steady ${formatRate(result.steadyRate)} leads/s; worker start ${formatSeconds(result.workerStartS)}; worker peak RSS ${result.workerPeakMb?.toFixed(0) ?? '?'} MB)`);
  return result;
}
