import { timeText, type StepPlan } from '../../scripts/elapsed.mjs';
import type { SmtpSinkStats } from '../simulators/smtp-sink.js';
import { checksFor, type FaultSetup } from './checks.js';
import type { CrmCounters } from './crm.js';
import { drain, type Drained } from './drain.js';
import { planFaults, runFaults, type FaultCounts, type FaultEvent, type PlannedFault } from './faults.js';
import { apiFigures, crmFigures, smtpDelta } from './figures.js';
import { checkInvariants, type ContactView, type FaultWindow, type MailView } from './invariants.js';
import { LoadGenerator, type LoadResult } from './load.js';
import type { ChaosOptions, Scenario } from './options.js';
import type { Random } from './random.js';
import { readFigures, type Say, type ScenarioResult } from './report.js';
import type { Target } from './target.js';
import { Client, Connection } from '@temporalio/client';
import { summarizeTaskWaits, type TaskWaitSummary } from '../temporal/workflow-task-waits.js';

/**
 * One scenario on the running stack: set its faults, drive a fresh set of leads through
 * the API while its process faults fire, drain, then read the outside world and check it.
 */

export interface ScenarioContext {
  target: Target;
  options: ChaosOptions;
  random: Random;
  say: Say;
  /** The stack's fatal error, once there is one. */
  fatal: () => string | undefined;
  /** The run's steps (a load and a drain per scenario), for "step k/n … about … left". */
  plan?: StepPlan;
}

/** Ends a progress line with the whole run's time: "  — run: elapsed 3m05s, about 9m left". */
const runTail = (ctx: ScenarioContext) => (ctx.plan ? `  — run: ${ctx.plan.status()}` : '');

/** Counters kept over the whole run (the simulators', the worker's restarts), at one moment. */
interface Counters {
  workerRestarts: number;
  crm: CrmCounters;
  smtp: SmtpSinkStats;
}

interface LoadPhase {
  result: LoadResult;
  faults: FaultEvent[];
  startedAt: number;
  endedAt: number;
}

export async function runScenario(ctx: ScenarioContext, scenario: Scenario, runTag: string): Promise<ScenarioResult> {
  const { target, options: o } = ctx;
  const setup = faultsOf(scenario, o);
  const before = await setUpFaults(target, setup, o);
  const plan = planFaults(ctx.random, {
    counts: setup.counts,
    from: 0.1,
    to: 0.8,
    serverDowntimeMs: o.serverDowntimeMs,
    longOutageMs: o.longOutageMs,
  });
  ctx.say(describeScenario(scenario, o, plan, setup));

  const load = await driveLoad(ctx, scenario, runTag, plan);
  if (ctx.plan) ctx.say(ctx.plan.begin(`${scenario}: drain (at most ${o.drainTimeoutMs / 1000} s)`));
  const drained = await drain(
    { ...target, apiUrl: target.stack.apiUrl },
    load.result.leads,
    load.endedAt + o.drainTimeoutMs,
    o.progressEveryMs,
    (line) => ctx.say(`${line}${runTail(ctx)}`),
    ctx.fatal,
  );
  const drainMs = Date.now() - load.endedAt;
  const world = await readWorld(target);
  const taskWaits = await readTaskWaits(target, load.startedAt);
  const result = scenarioResult({ ctx, scenario, runTag, setup, load, drained, drainMs, world, before });
  result.taskWaits = taskWaits;
  result.checks = checksFor(result, setup, o, ctx.fatal());
  return result;
}

function faultsOf(scenario: Scenario, o: ChaosOptions): FaultSetup {
  const none: FaultCounts = { workerKills: 0, serverRestarts: 0, apiSigterms: 0 };
  switch (scenario) {
    case 'mixed':
      return { counts: { workerKills: o.workerKills, serverRestarts: o.serverRestarts, apiSigterms: o.apiSigterms }, crm: true, smtp: true };
    case 'worker-kill':
      return { counts: { ...none, workerKills: Math.max(1, o.workerKills) }, crm: false, smtp: false };
    case 'server-restart':
      return { counts: { ...none, serverRestarts: Math.max(1, o.serverRestarts) }, crm: false, smtp: false };
    case 'api-sigterm':
      return { counts: { ...none, apiSigterms: Math.max(1, o.apiSigterms) }, crm: false, smtp: false };
    case 'crm':
      return { counts: none, crm: true, smtp: false };
    case 'smtp':
      return { counts: none, crm: false, smtp: true };
  }
}

/** Reads the counters before, then replaces the previous scenario's simulator faults with this one's. */
async function setUpFaults(target: Target, setup: FaultSetup, o: ChaosOptions): Promise<Counters> {
  const workerRestarts = target.stack.workers[0]!.restarts;
  const crm = await target.crmStats();
  const smtp = await target.smtpStats();
  await target.clearFaults();
  const [baseLatency, baseJitter] = o.crmBaseLatencyMs;
  await target.setCrmFaults({ latencyMs: baseLatency, latencyJitterMs: baseJitter, ...(setup.crm ? o.crmFaults : {}) });
  if (setup.smtp) await target.setSmtpFaults(o.smtpFaults);
  return { workerRestarts, crm, smtp };
}

function describeScenario(scenario: Scenario, o: ChaosOptions, plan: readonly PlannedFault[], setup: FaultSetup): string {
  const [baseLatency, baseJitter] = o.crmBaseLatencyMs;
  return (
    `scenario ${scenario}: ${o.leads} leads × ${o.updates} updates over ${o.durationMs / 1000} s; faults: ` +
    [
      ...plan.map((f) => `${f.kind}@${Math.round(f.at * 100)}%${f.downtimeMs ? `(down ${f.downtimeMs} ms)` : ''}`),
      `CRM latency ${baseLatency}+${baseJitter} ms`,
      ...(setup.crm ? [`crm ${JSON.stringify(o.crmFaults)}`] : []),
      ...(setup.smtp ? [`smtp ${JSON.stringify(o.smtpFaults)}`] : []),
    ].join(', ')
  );
}

/** Runs the load with progress lines, firing the planned faults as shares of it get done. */
async function driveLoad(ctx: ScenarioContext, scenario: Scenario, runTag: string, plan: readonly PlannedFault[]): Promise<LoadPhase> {
  const { target, options: o, say } = ctx;
  const load = new LoadGenerator({
    apiUrl: target.stack.apiUrl,
    runTag,
    leads: o.leads,
    updatesPerLead: o.updates,
    durationMs: o.durationMs,
    thinkMs: o.thinkMs,
    duplicateCreateRate: o.duplicateCreateRate,
    optOutRate: o.optOutRate,
    maxInFlight: o.concurrency,
    requestTimeoutMs: o.requestTimeoutMs,
    giveUpAfterMs: o.giveUpAfterMs,
    random: ctx.random,
  });
  if (ctx.plan) say(ctx.plan.begin(`${scenario}: load (${o.durationMs / 1000} s)`));
  const startedAt = Date.now();
  const ticker = setInterval(() => {
    const p = load.progress();
    say(
      `${scenario} load ${timeText((Date.now() - startedAt) / 1000, o.durationMs / 1000)}: acknowledged ${p.acked}/${p.planned}, ` +
        `in flight ${p.inFlight}, unresolved ${p.unresolved}, rejected ${p.rejected}${runTail(ctx)}`,
    );
  }, o.progressEveryMs);
  const faultsDone = runFaults(plan, target.actions, () => load.doneShare(), (e) =>
    say(`fault ${e.kind} at t=${((e.at - startedAt) / 1000).toFixed(1)}s (${Math.round(load.doneShare() * 100)}% of the load): ${e.error ? `ERROR ${e.error}` : e.detail}`),
  );
  const result = await load.run();
  const endedAt = Date.now();
  clearInterval(ticker);
  say(`${scenario}: load done in ${((endedAt - startedAt) / 1000).toFixed(1)} s; ${load.progress().acked} writes acknowledged`);
  const faults = await faultsDone;
  return { result, faults, startedAt, endedAt };
}

/** Worker kills and Temporal outages: when an email may have been sent without Temporal learning it. */
function faultWindows(faults: readonly FaultEvent[]): FaultWindow[] {
  return faults
    .filter((f) => !f.error && (f.kind === 'worker-kill' || f.kind === 'server-restart'))
    .map((f) => ({ kind: f.kind === 'worker-kill' ? 'worker-kill' : 'server-outage', from: f.at, to: f.recoveredAt ?? f.at }));
}

/** What the outside world holds once the scenario is over, and the counters then. */
interface World {
  contacts: ContactView[];
  messages: MailView[];
  after: Counters;
}

async function readWorld(target: Target): Promise<World> {
  const [contacts, messages, crm, smtp] = await Promise.all([
    target.contacts(),
    target.messages(),
    target.crmStats(),
    target.smtpStats(),
  ]);
  await target.clearFaults();
  return { contacts, messages, after: { workerRestarts: target.stack.workers[0]!.restarts, crm, smtp } };
}

/**
 * How long the workflow tasks of every execution started since the load began waited
 * (issue #24: one stalled 12–17 minutes after worker kills). A figure, not a check: server
 * outages make tasks wait by design.
 */
async function readTaskWaits(target: Target, since: number): Promise<TaskWaitSummary> {
  const connection = await Connection.connect({ address: target.stack.temporalAddress });
  try {
    const client = new Client({ connection, namespace: target.config.TEMPORAL_NAMESPACE });
    return await summarizeTaskWaits(client, `StartTime >= '${new Date(since).toISOString()}'`);
  } finally {
    await connection.close();
  }
}

interface Outcome {
  ctx: ScenarioContext;
  scenario: Scenario;
  runTag: string;
  setup: FaultSetup;
  load: LoadPhase;
  drained: Drained;
  drainMs: number;
  world: World;
  before: Counters;
}

/** The scenario's figures and invariants; its checks are added from these. */
function scenarioResult({ ctx, scenario, runTag, setup, load, drained, drainMs, world, before }: Outcome): ScenarioResult {
  const { leads, attempts, readBacks } = load.result;
  const { contacts, messages, after } = world;
  const invariants = checkInvariants({
    leads,
    contacts,
    messages,
    tasks: drained.tasks,
    faults: faultWindows(load.faults),
    messageIdDomain: ctx.target.messageIdDomain,
    windowMs: ctx.options.windowMs,
  });
  return {
    scenario,
    runTag,
    planned: setup.counts,
    faults: load.faults,
    invariants,
    updatesAcked: invariants.acknowledged - leads.filter((l) => l.acked > 0).length,
    crm: crmFigures(before.crm, after.crm, ctx.options),
    smtp: smtpDelta(before.smtp, after.smtp),
    api: apiFigures(attempts, load.faults),
    reads: readFigures(readBacks),
    workerRestarts: after.workerRestarts - before.workerRestarts,
    loadMs: load.endedAt - load.startedAt,
    drainMs,
    drained: drained.complete,
    checks: [],
  };
}
