import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SmtpSinkStats } from '../simulators/smtp-sink.js';
import { planFaults, runFaults, type FaultCounts, type FaultEvent } from './faults.js';
import { httpJson, keepAliveAgent } from './http.js';
import { checkInvariants, compareContact, welcomeMessageId, type FaultWindow, type TaskView } from './invariants.js';
import { LoadGenerator, type AttemptRecord, type LeadRecord } from './load.js';
import type { ChaosOptions, Scenario } from './options.js';
import { seededRandom, type Random } from './random.js';
import { detailLines, readFigures, summaryLine, type ChaosResult, type Check, type ScenarioResult } from './report.js';
import { startTarget, type Target } from './target.js';

/**
 * A chaos run: one stack, then per scenario a fresh set of leads driven through the API
 * while that scenario's faults fire, a drain, and the checks on that scenario's leads.
 */

export type Say = (line: string) => void;

let active: Target | undefined;

/** For Ctrl-C: stops the stack of the run in progress (its processes, Temporal last). */
export async function stopActiveStack(): Promise<void> {
  await active?.stop();
}

/** For a second signal: SIGKILLs every process of the stack at once, so none is left behind. */
export function killActiveStackNow(): void {
  if (!active) return;
  for (const child of active.stack.children) {
    child.markStopping();
    child.kill();
  }
  active.stack.temporal?.process.kill('SIGKILL');
}

export async function runChaos(options: ChaosOptions, say: Say): Promise<ChaosResult> {
  const started = Date.now();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chaos-'));
  mkdirSync(dataDir, { recursive: true });
  const random = seededRandom(options.seed);
  const result: ChaosResult = {
    ok: false,
    seed: options.seed,
    profile: options.profile,
    dataDir,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    scenarios: [],
  };
  let fatal: string | undefined;
  say(`seed ${options.seed}, profile ${options.profile}, scenarios ${options.scenarios.join(', ')}, data in ${dataDir}`);
  let target: Target | undefined;
  try {
    target = await startTarget({
      dataDir,
      env: options.env,
      apiProcesses: options.apiProcesses,
      crmRateLimit: options.crmRateLimit,
      workerCrmRate: options.workerCrmRate,
      workerProcesses: options.workerProcesses,
      workerMinUptimeMs: options.workerMinUptimeMs,
      random,
      onFatal: (message) => {
        fatal = message;
        say(`FATAL: ${message}`);
      },
    });
    active = target;
    say(`stack up: API ${target.stack.apiUrl} (${options.apiProcesses} processes), Temporal ${target.stack.temporalAddress}, CRM ${target.crmUrl}, SMTP sink ${target.smtpUrl}`);
    for (const [n, scenario] of options.scenarios.entries()) {
      const runTag = `${options.seed.toString(36)}${n}${scenario.replace(/[^a-z]/g, '').slice(0, 6)}`;
      const scenarioResult = await runScenario(target, scenario, runTag, options, random, say, () => fatal);
      result.scenarios.push(scenarioResult);
      say(summaryLine(scenarioResult));
      for (const line of detailLines(scenarioResult)) say(line);
      if (fatal) break;
    }
    if (fatal) result.error = fatal;
    result.ok = !fatal && result.scenarios.length === options.scenarios.length && result.scenarios.every((s) => s.checks.every((c) => c.ok));
  } catch (err) {
    result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    say(`run failed: ${result.error}`);
  } finally {
    active = undefined;
    await target?.stop().catch((err: unknown) => say(`stopping the stack: ${String(err)}`));
    if (!options.keepData && result.ok) rmSync(dataDir, { recursive: true, force: true });
    result.durationMs = Date.now() - started;
  }
  return result;
}

interface FaultSetup {
  counts: FaultCounts;
  crm: boolean;
  smtp: boolean;
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

async function runScenario(
  target: Target,
  scenario: Scenario,
  runTag: string,
  o: ChaosOptions,
  random: Random,
  say: Say,
  fatal: () => string | undefined,
): Promise<ScenarioResult> {
  const setup = faultsOf(scenario, o);
  const worker = target.stack.workers[0]!;
  const restartsBefore = worker.restarts;
  const crmBefore = await target.crmStats();
  const smtpBefore = await target.smtpStats();
  await target.clearFaults();
  const [baseLatency, baseJitter] = o.crmBaseLatencyMs;
  await target.setCrmFaults({ latencyMs: baseLatency, latencyJitterMs: baseJitter, ...(setup.crm ? o.crmFaults : {}) });
  if (setup.smtp) await target.setSmtpFaults(o.smtpFaults);

  const plan = planFaults(random, {
    counts: setup.counts,
    from: 0.1,
    to: 0.8,
    serverDowntimeMs: o.serverDowntimeMs,
    longOutageMs: o.longOutageMs,
  });
  say(
    `scenario ${scenario}: ${o.leads} leads × ${o.updates} updates over ${o.durationMs / 1000} s; faults: ` +
      [
        ...plan.map((f) => `${f.kind}@${Math.round(f.at * 100)}%${f.downtimeMs ? `(down ${f.downtimeMs} ms)` : ''}`),
        `CRM latency ${baseLatency}+${baseJitter} ms`,
        ...(setup.crm ? [`crm ${JSON.stringify(o.crmFaults)}`] : []),
        ...(setup.smtp ? [`smtp ${JSON.stringify(o.smtpFaults)}`] : []),
      ].join(', '),
  );

  const load = new LoadGenerator({
    apiUrl: target.stack.apiUrl,
    runTag,
    leads: o.leads,
    updatesPerLead: o.updates,
    durationMs: o.durationMs,
    thinkMs: o.thinkMs,
    duplicateCreateRate: o.duplicateCreateRate,
    maxInFlight: o.concurrency,
    requestTimeoutMs: o.requestTimeoutMs,
    giveUpAfterMs: o.giveUpAfterMs,
    random,
  });
  const loadStarted = Date.now();
  const ticker = setInterval(() => {
    const p = load.progress();
    say(`${scenario} t=${((Date.now() - loadStarted) / 1000).toFixed(0)}s acknowledged ${p.acked}/${p.planned}, in flight ${p.inFlight}, unresolved ${p.unresolved}, rejected ${p.rejected}`);
  }, o.progressEveryMs);
  const faultsDone = runFaults(plan, target.actions, () => load.doneShare(), (e) =>
    say(`fault ${e.kind} at t=${((e.at - loadStarted) / 1000).toFixed(1)}s (${Math.round(load.doneShare() * 100)}% of the load): ${e.error ? `ERROR ${e.error}` : e.detail}`),
  );
  const loadResult = await load.run();
  const loadEnded = Date.now();
  clearInterval(ticker);
  say(`${scenario}: load done in ${((loadEnded - loadStarted) / 1000).toFixed(1)} s; ${load.progress().acked} writes acknowledged`);
  const faults = await faultsDone;

  const deadline = loadEnded + o.drainTimeoutMs;
  const drained = await drain(target, loadResult.leads, deadline, o.progressEveryMs, say, fatal);
  const drainEnded = Date.now();

  const [contacts, messages, crmAfter, smtpAfter] = await Promise.all([
    target.contacts(),
    target.messages(),
    target.crmStats(),
    target.smtpStats(),
  ]);
  await target.clearFaults();

  const windows: FaultWindow[] = faults
    .filter((f) => !f.error && (f.kind === 'worker-kill' || f.kind === 'server-restart'))
    .map((f) => ({ kind: f.kind === 'worker-kill' ? 'worker-kill' : 'server-outage', from: f.at, to: f.recoveredAt ?? f.at }));
  const invariants = checkInvariants({
    leads: loadResult.leads,
    contacts,
    messages,
    tasks: drained.tasks,
    faults: windows,
    messageIdDomain: target.messageIdDomain,
    windowMs: o.windowMs,
  });

  const result: ScenarioResult = {
    scenario,
    runTag,
    planned: setup.counts,
    faults,
    invariants,
    updatesAcked: invariants.acknowledged - loadResult.leads.filter((l) => l.acked > 0).length,
    crm: {
      byStatus: deltaCounts(crmBefore.byStatus, crmAfter.byStatus),
      hung: crmAfter.hung - crmBefore.hung,
      rateLimited: (crmAfter.rateLimited ?? 0) - (crmBefore.rateLimited ?? 0),
      requests: crmAfter.requests - crmBefore.requests,
      maxPerSecond: crmAfter.maxPerSecond,
      maxArrivalsPerSecond: crmAfter.maxArrivalsPerSecond,
      maxGrantedPerSecond: crmAfter.maxGrantedPerSecond,
      ungranted: crmAfter.ungranted - crmBefore.ungranted,
      limit: o.crmRateLimit,
      workerRate: o.workerCrmRate,
    },
    smtp: smtpDelta(smtpBefore, smtpAfter),
    api: apiFigures(loadResult.attempts, faults),
    reads: readFigures(loadResult.readBacks),
    workerRestarts: worker.restarts - restartsBefore,
    loadMs: loadEnded - loadStarted,
    drainMs: drainEnded - loadEnded,
    drained: drained.complete,
    checks: [],
  };
  result.checks = checksFor(result, setup, o, fatal());
  return result;
}

/** Waits until every lead is in the CRM at its acknowledged state with its welcome email, and every task has ended. */
async function drain(
  target: Target,
  leads: readonly LeadRecord[],
  deadline: number,
  progressEveryMs: number,
  say: Say,
  fatal: () => string | undefined,
): Promise<{ complete: boolean; tasks: TaskView[] }> {
  const started = Date.now();
  let lastSaid = 0;
  const expecting = leads.filter((l) => l.acked > 0);
  for (;;) {
    const [contacts, messages] = await Promise.all([target.contacts(), target.messages()]);
    const byId = new Map(contacts.map((c) => [c.externalId, c]));
    const mailIds = new Set(messages.map((m) => m.messageId));
    const settled = expecting.filter(
      (l) => compareContact(l, byId.get(l.id)).kind === 'ok' && mailIds.has(welcomeMessageId(l.id, target.messageIdDomain)),
    ).length;
    if (settled === expecting.length) break;
    if (Date.now() - lastSaid >= progressEveryMs) {
      lastSaid = Date.now();
      say(`drain ${((Date.now() - started) / 1000).toFixed(0)}s: ${settled}/${expecting.length} leads in the CRM at their acknowledged state with their welcome email`);
    }
    if (Date.now() > deadline || fatal()) break;
    await sleep(1_000);
  }

  // Every acknowledged task must end; give this at least a minute even past the deadline, to read them.
  const taskDeadline = Math.max(deadline, Date.now() + 60_000);
  const statuses = new Map<string, TaskView>();
  const all = leads.flatMap((l) => l.taskIds);
  for (const id of all) statuses.set(id, { task_id: id, status: 'unknown', attempts: 0 });
  const agent = keepAliveAgent(16);
  let pending = all;
  try {
    for (;;) {
      await forEachLimited(pending, 16, async (id) => {
        const outcome = await httpJson({ method: 'GET', url: `${target.stack.apiUrl}/api/tasks/${id}`, timeoutMs: 30_000, agent });
        if (outcome.kind === 'response' && outcome.status === 200) {
          const body = outcome.body as { status: TaskView['status']; attempts: number; steps?: Array<{ name: string; attempts: number }> };
          const email = body.steps?.find((s) => s.name === 'email_send');
          statuses.set(id, { task_id: id, status: body.status, attempts: body.attempts, emailAttempts: email?.attempts });
        }
      });
      pending = pending.filter((id) => !['completed', 'failed', 'cancelled'].includes(statuses.get(id)!.status));
      if (pending.length === 0 || Date.now() > taskDeadline || fatal()) break;
      if (Date.now() - lastSaid >= progressEveryMs) {
        lastSaid = Date.now();
        say(`drain ${((Date.now() - started) / 1000).toFixed(0)}s: ${all.length - pending.length}/${all.length} tasks ended`);
      }
      await sleep(1_000);
    }
  } finally {
    agent.destroy();
  }
  const complete = pending.length === 0;
  // A late second copy of an email would come from an activity attempt still running: give it a moment.
  await sleep(3_000);
  return { complete, tasks: [...statuses.values()] };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function deltaCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

function smtpDelta(before: SmtpSinkStats, after: SmtpSinkStats): ScenarioResult['smtp'] {
  return {
    accepted: after.accepted - before.accepted,
    rejected: after.rejected - before.rejected,
    dropped: after.dropped - before.dropped,
    duplicateMessageIds: after.duplicateMessageIds - before.duplicateMessageIds,
  };
}

function apiFigures(attempts: readonly AttemptRecord[], faults: readonly FaultEvent[]): ScenarioResult['api'] {
  const count = (list: readonly AttemptRecord[]) => {
    const out: Record<string, number> = {};
    for (const a of list) out[a.outcome] = (out[a.outcome] ?? 0) + 1;
    return out;
  };
  return {
    attempts: attempts.length,
    byOutcome: count(attempts),
    sigterms: faults
      .filter((f) => f.kind === 'api-sigterm' && !f.error)
      .map((f) => ({
        inFlight: count(attempts.filter((a) => a.startedAt <= f.at && a.endedAt > f.at)),
        next2s: count(attempts.filter((a) => a.startedAt > f.at && a.startedAt <= f.at + 2_000)),
      })),
  };
}

function checksFor(r: ScenarioResult, setup: FaultSetup, o: ChaosOptions, fatal: string | undefined): Check[] {
  const i = r.invariants;
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  check('stack stayed up', !fatal, fatal ?? 'no unexpected exit');
  check('lost = 0', i.lost === 0, `${i.lost} lead(s) not at their last acknowledged version in the CRM`);
  check('double_applied = 0', i.doubleApplied === 0, `${i.doubleApplied} lead(s) ahead of what was acknowledged`);
  check('dup_crm = 0', i.dupCrm === 0, `${i.dupCrm} duplicate CRM creates/contacts`);
  check('dup_email = 0 outside the at-least-once window', i.dupEmail === 0, `${i.dupEmail} duplicate welcome email(s) not explained by a fault`);
  check('missing_email = 0', i.missingEmail === 0, `${i.missingEmail} lead(s) without a welcome email`);
  check('stuck = 0', i.stuck === 0, `${i.stuck} task(s) not terminal at the drain deadline`);
  check('every write acknowledged', i.unresolved === 0 && i.rejected === 0, `${i.unresolved} unresolved, ${i.rejected} rejected`);
  check('drained before the deadline', r.drained, r.drained ? 'yes' : `not drained within ${o.drainTimeoutMs / 1000} s`);
  if (setup.crm || setup.smtp) {
    check('retries happened', i.tasksWithRetries > 0 && i.maxAttempts > 1, `${i.tasksWithRetries} task(s) with attempts > 1, max ${i.maxAttempts}`);
  }
  check(
    'no acknowledged write denied',
    r.reads.denied === 0,
    `${r.reads.denied} read(s) right after a 202 answered 404 (of ${r.reads.checked})`,
  );
  check(
    'reads from the events show every acknowledged change',
    r.reads.behindEvents === 0,
    `${r.reads.behindEvents} lead read(s) with read_source "events" behind the 202s before them`,
  );
  if (o.crmRateLimit > 0) {
    check(
      'CRM rate limit honoured',
      r.crm.maxPerSecond <= o.crmRateLimit && r.crm.rateLimited === 0,
      `max ${r.crm.maxPerSecond} accepted writes/s, limit ${o.crmRateLimit}; ${r.crm.rateLimited} write(s) refused by the limit`,
    );
  }
  if (o.workerCrmRate > 0) {
    // The workers' own promise: every CRM request, retries included, went through a limiter,
    // and no sliding second holds more grants than the limit. Grant times are the workers'
    // clock, carried in each request; arrival times would also count the simulator's own
    // stalls on a busy machine (reported as arrivals_per_second).
    check(
      'workers stayed within their CRM rate',
      r.crm.maxGrantedPerSecond <= o.workerCrmRate && r.crm.ungranted === 0,
      `at most ${r.crm.maxGrantedPerSecond} CRM writes sent in one sliding second (workers' limit ${o.workerCrmRate}, ${o.workerProcesses} process(es)); ${r.crm.ungranted} sent without the limiter`,
    );
  }

  const done = (kind: FaultEvent['kind']) => r.faults.filter((f) => f.kind === kind && !f.error);
  const kills = done('worker-kill');
  if (setup.counts.workerKills > 0) {
    check(
      'worker killed and restarted',
      kills.length === setup.counts.workerKills && kills.every((k) => k.recoveredAt !== undefined) && r.workerRestarts >= kills.length,
      `${kills.length}/${setup.counts.workerKills} kills, ${kills.filter((k) => k.recoveredAt).length} replaced, supervisor restarts ${r.workerRestarts}`,
    );
    check('a worker kill landed mid-activity', kills.some((k) => (k.crmInFlight ?? 0) > 0), `CRM calls in flight at the kills: ${kills.map((k) => k.crmInFlight).join(', ')}`);
  }
  if (setup.counts.serverRestarts > 0) {
    const restarts = done('server-restart');
    check('Temporal killed and restarted', restarts.length === setup.counts.serverRestarts, `${restarts.length}/${setup.counts.serverRestarts}`);
  }
  if (setup.counts.apiSigterms > 0) {
    const sigterms = done('api-sigterm');
    check(
      'API process SIGTERMed and replaced',
      sigterms.length === setup.counts.apiSigterms && sigterms.every((s) => s.recoveredAt !== undefined),
      `${sigterms.length}/${setup.counts.apiSigterms}, replaced ${sigterms.filter((s) => s.recoveredAt).length}`,
    );
  }
  if (setup.crm) {
    const f = o.crmFaults;
    if ((f.errorRate ?? 0) > 0) check('CRM 500s injected', (r.crm.byStatus['500'] ?? 0) > 0, `${r.crm.byStatus['500'] ?? 0}`);
    if ((f.rate429 ?? 0) > 0) check('CRM 429s injected', (r.crm.byStatus['429'] ?? 0) > 0, `${r.crm.byStatus['429'] ?? 0}`);
    if ((f.hangRate ?? 0) > 0) check('CRM hangs injected', r.crm.hung > 0, `${r.crm.hung}`);
  }
  if (setup.smtp) {
    const f = o.smtpFaults;
    if ((f.tempFailRate ?? 0) > 0) check('SMTP 4xx injected', r.smtp.rejected > 0, `${r.smtp.rejected}`);
    if ((f.dropRate ?? 0) > 0) check('SMTP drops injected', r.smtp.dropped > 0, `${r.smtp.dropped}`);
  }
  return checks;
}

