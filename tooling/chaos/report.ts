import type { CrmName } from './crm.js';
import type { FaultEvent } from './faults.js';
import type { InvariantReport } from './invariants.js';
import type { ReadBack } from './load.js';
import type { Scenario } from './options.js';
import type { TaskWaitSummary } from '../temporal/workflow-task-waits.js';

/** The figures of a chaos run and how they are printed. */

/** Prints one line of the run's log. */
export type Say = (line: string) => void;

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  scenario: Scenario;
  runTag: string;
  planned: { workerKills: number; serverRestarts: number; apiSigterms: number };
  faults: FaultEvent[];
  invariants: InvariantReport;
  updatesAcked: number;
  crm: {
    adapter: CrmName;
    byStatus: Record<string, number>;
    hung: number;
    rateLimited: number;
    requests: number;
    /** Records written: one per request on REST, up to 100 per batch on HubSpot. */
    records: number;
    /** Over the whole run so far: the simulator keeps one maximum. */
    maxPerSecond: number;
    /** Most requests admitted within the window of the CRM's limit (REST: a second; HubSpot: its rolling 10 s). */
    maxPerWindow: number;
    windowMs: number;
    /** Most CRM writes that arrived in one sliding second, whatever their answer. */
    maxArrivalsPerSecond: number;
    /** Most CRM writes the workers' limiters let go in one sliding second (their clock). */
    maxGrantedPerSecond: number;
    /** CRM writes that came without a limiter's grant. */
    ungranted: number;
    /** The CRM's own limit and the workers', per `windowMs` (0 = none). */
    limit: number;
    workerRate: number;
  };
  smtp: { accepted: number; rejected: number; dropped: number; duplicateMessageIds: number };
  api: {
    attempts: number;
    byOutcome: Record<string, number>;
    /** Per API SIGTERM: outcomes of the requests in flight at the signal, and of those sent in the next 2 s. */
    sigterms: Array<{ inFlight: Record<string, number>; next2s: Record<string, number> }>;
  };
  /** One read of the task and one of the lead right after each 202 (read-your-writes under faults). */
  reads: {
    checked: number;
    task: Record<string, number>;
    lead: Record<string, number>;
    /** Reads answered 404: an acknowledged write denied. Must be 0. */
    denied: number;
    /** Lead reads answered 200 with a version below what the 202s so far imply (history fallback). */
    behind: number;
    /** Of those, reads the read model answered as complete (`read_source: "events"`). Must be 0. */
    behindEvents: number;
  };
  workerRestarts: number;
  /** Workflow tasks of the executions started during the scenario: how long they waited. */
  taskWaits?: TaskWaitSummary;
  loadMs: number;
  drainMs: number;
  drained: boolean;
  checks: Check[];
}

export interface ChaosResult {
  ok: boolean;
  seed: number;
  profile: string;
  dataDir: string;
  startedAt: string;
  durationMs: number;
  scenarios: ScenarioResult[];
  error?: string;
}

const tally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ') || '-';

/** The one line the issue asks for. */
export function summaryLine(r: ScenarioResult): string {
  const i = r.invariants;
  const count = (kind: FaultEvent['kind']) => r.faults.filter((f) => f.kind === kind && !f.error).length;
  return (
    `scenario=${r.scenario} leads=${i.leads} updates=${r.updatesAcked} worker_kills=${count('worker-kill')} ` +
    `server_restarts=${count('server-restart')} api_sigterms=${count('api-sigterm')} ` +
    `lost=${i.lost} dup_crm=${i.dupCrm} dup_email=${i.dupEmail} (window=${i.window}) stuck=${i.stuck} ` +
    `dup_email_contacts=${i.dupEmailContacts} mailed_after_optout=${i.mailedAfterOptOut}`
  );
}

export function detailLines(r: ScenarioResult): string[] {
  const i = r.invariants;
  const midActivity = r.faults.filter((f) => f.kind === 'worker-kill' && (f.crmInFlight ?? 0) > 0).length;
  const lines = [
    `  writes: acknowledged=${i.acknowledged} unresolved=${i.unresolved} rejected=${i.rejected} versions_behind=${i.versionsBehind} double_applied=${i.doubleApplied} missing_email=${i.missingEmail} opted_out=${i.optedOut}` +
      ` | tasks: checked=${i.tasksChecked} failed=${i.failedTasks} with_retries=${i.tasksWithRetries} max_attempts=${i.maxAttempts}`,
    `${crmLine(r)} | smtp: accepted=${r.smtp.accepted} temp_failures=${r.smtp.rejected} dropped=${r.smtp.dropped} duplicate_message_ids=${r.smtp.duplicateMessageIds}`,
    `  api: attempts=${r.api.attempts} ${tally(r.api.byOutcome)}` +
      r.api.sigterms.map((s, n) => ` | sigterm#${n + 1} in-flight ${tally(s.inFlight)}, next 2 s ${tally(s.next2s)}`).join(''),
    `  reads after 202: task ${tally(r.reads.task)} | lead ${tally(r.reads.lead)} | denied=${r.reads.denied} behind=${r.reads.behind} (from events: ${r.reads.behindEvents})`,
    `  worker: kills=${r.faults.filter((f) => f.kind === 'worker-kill').length} (mid-activity ${midActivity}) supervisor_restarts=${r.workerRestarts}` +
      ` | load ${(r.loadMs / 1000).toFixed(1)} s, drain ${(r.drainMs / 1000).toFixed(1)} s${r.drained ? '' : ' (NOT drained)'}` +
      (i.windowed.length ? ` | window: ${i.windowed.map((w) => `${w.kind} ${w.gapMs} ms before`).join(', ')}` : ''),
  ];
  if (r.taskWaits) lines.push(taskWaitLine(r.taskWaits));
  for (const c of r.checks.filter((c) => !c.ok)) lines.push(`  FAILED ${c.name}: ${c.detail}`);
  for (const p of i.problems.slice(0, 15)) lines.push(`  problem ${p.id}: ${p.problem}`);
  if (i.problems.length > 15) lines.push(`  … ${i.problems.length - 15} more problems`);
  return lines;
}

/** The longest wait of a workflow task, first scheduling to the start of its completing attempt. */
function taskWaitLine(w: TaskWaitSummary): string {
  const longest = w.longest
    ? `${(w.longest.waitMs / 1000).toFixed(1)} s (${w.longest.workflowId}, attempt ${w.longest.attempts}${w.longest.completed ? '' : ', still pending'})`
    : '-';
  return `  workflow tasks: histories=${w.histories} tasks=${w.tasks} longest_wait=${longest} over_60s=${w.overMinute} max_attempt=${w.maxAttempts}`;
}

/** What the CRM answered; HubSpot's requests carry batches and its limit is per rolling 10 s. */
function crmLine(r: ScenarioResult): string {
  const c = r.crm;
  if (c.adapter === 'hubspot') {
    return (
      `  crm (hubspot): ${tally(c.byStatus)} hung=${c.hung} rate_limited_429=${c.rateLimited} requests=${c.requests} records=${c.records}` +
      ` max_per_second=${c.maxPerSecond} max_per_10s=${c.maxPerWindow} (limit ${c.limit} per 10 s, simulator and workers)`
    );
  }
  return (
    `  crm: ${tally(c.byStatus)} hung=${c.hung} rate_limited_429=${c.rateLimited} replays=${r.invariants.crmReplays}` +
    ` max_per_second=${c.maxPerSecond} sent_per_second=${c.maxGrantedPerSecond} arrivals_per_second=${c.maxArrivalsPerSecond}` +
    ` (simulator limit ${c.limit || 'none'}, worker limit ${c.workerRate || 'none'})`
  );
}

/** All scenarios together, in the issue's format. */
export function totalLine(result: ChaosResult): string {
  const s = result.scenarios;
  const sum = (pick: (r: ScenarioResult) => number) => s.reduce((n, r) => n + pick(r), 0);
  const faults = (kind: FaultEvent['kind']) => sum((r) => r.faults.filter((f) => f.kind === kind && !f.error).length);
  return (
    `leads=${sum((r) => r.invariants.leads)} updates=${sum((r) => r.updatesAcked)} worker_kills=${faults('worker-kill')} ` +
    `server_restarts=${faults('server-restart')} api_sigterms=${faults('api-sigterm')} lost=${sum((r) => r.invariants.lost)} ` +
    `dup_crm=${sum((r) => r.invariants.dupCrm)} dup_email=${sum((r) => r.invariants.dupEmail)} (window=${sum((r) => r.invariants.window)}) ` +
    `stuck=${sum((r) => r.invariants.stuck)} dup_email_contacts=${sum((r) => r.invariants.dupEmailContacts)} ` +
    `mailed_after_optout=${sum((r) => r.invariants.mailedAfterOptOut)}`
  );
}

/** The reads sent right after each 202: outcomes, denials (404) and lead reads behind the 202s. */
export function readFigures(reads: ReadBack[]): ScenarioResult['reads'] {
  const behind = reads.filter((r) => r.version !== undefined && r.ackedVersion !== undefined && r.version < r.ackedVersion);
  const tally = (kind: ReadBack['kind']) => {
    const counts: Record<string, number> = {};
    for (const r of reads) if (r.kind === kind) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    return counts;
  };
  return {
    checked: reads.length,
    task: tally('task'),
    lead: tally('lead'),
    denied: reads.filter((r) => r.outcome.startsWith('404')).length,
    behind: behind.length,
    behindEvents: behind.filter((r) => r.source === 'events').length,
  };
}
