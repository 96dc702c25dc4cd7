import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { applyChange } from '../domain/apply-change.js';
import { leadView } from '../domain/lead-view.js';
import type { CrmStatus, LeadChange, LeadFields, LeadView } from '../domain/lead.js';
import { isTerminal, queuedTask, type StepName, type TaskState, type TaskStep } from '../domain/task.js';
import { MAX_BATCH, MEMO_BATCH_TASKS, type ReadMemo } from '../domain/lead-read-model.js';
import { startTriggeredAutomations } from './automation-triggers.js';
import { LEAD_WORKFLOW_GENERATION, leadChangeSignal, leadQuery, processedLeadQuery, taskQuery } from '../temporal/lead-messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';

/** Settings fixed when a lead's workflow starts and carried across continue-as-new. */
export interface LeadWorkflowSettings {
  crmTaskQueue: string;
  maxAttempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
  continueAsNewAfterEvents: number;
  crmResyncIntervalMs: number;
  /**
   * Start-to-close of one CRM write: the CRM client's own timeout plus a margin, so a write
   * lost with a crashed worker is retried within seconds. Absent from runs started before
   * it existed, which keep 60 s.
   */
  crmActivityTimeoutMs?: number;
}

/** State handed from one run to the next on continue-as-new. */
export interface CarriedLeadState {
  fields: LeadFields;
  version: number;
  score: number;
  crm: LeadView['crm'];
  welcome: WelcomeState;
  createdAt: string;
  updatedAt: string;
  tasks: TaskState[];
  pending: LeadChange[];
}

export interface LeadWorkflowInput {
  leadId: string;
  settings: LeadWorkflowSettings;
  initial?: LeadChange;
  carried?: CarriedLeadState;
  /**
   * Which code paths this run takes, fixed in its input (so replay sees the same value).
   * Absent (1): runs started before the patches below were folded in; they ask `patched()`.
   * 2: takes the patched paths without `patched()` calls, each of which costs a marker and an
   * upsert of the TemporalChangeVersion search attribute, and upserts only the search
   * attributes whose value changed (LeadVersion is no longer kept: the memo has the version).
   * 3: the memo of each batch's end also holds that batch's tasks in full and the ids of the
   * changes accepted but not yet applied, so the API can answer reads from the memo and the
   * events after it without asking a worker (domain/lead-read-model.ts). Nothing else differs.
   * Every run continues as new at the current generation (LEAD_WORKFLOW_GENERATION).
   */
  generation?: number;
}

type WelcomeState = 'pending' | 'sent' | 'skipped' | 'failed';

const TASKS_KEPT = 200;
const TASKS_IN_MEMO = 20;

/**
 * The entity workflow of one lead (workflow id `lead-<leadId>`). Every accepted write
 * arrives as a `leadChange` signal; changes are applied strictly in arrival order, and
 * changes that arrive while a CRM write is in flight are coalesced into the next write,
 * so the CRM always ends holding the latest version.
 */
export async function leadWorkflow(input: LeadWorkflowInput): Promise<void> {
  const { leadId, settings } = input;
  const current = (input.generation ?? 1) >= 2;
  const readModel = (input.generation ?? 1) >= 3;
  const retry = {
    maximumAttempts: settings.maxAttempts,
    initialInterval: settings.initialIntervalMs,
    maximumInterval: settings.maxIntervalMs,
    backoffCoefficient: 2,
  };
  const { processLead } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '10s',
    retry: { ...retry, nonRetryableErrorTypes: ['InvalidLead'] },
  });
  const crmActivities = (summary: string) =>
    proxyActivities<Activities>({
      taskQueue: settings.crmTaskQueue,
      startToCloseTimeout: settings.crmActivityTimeoutMs ?? 60_000,
      retry: { ...retry, nonRetryableErrorTypes: ['CrmRejected'] },
      summary,
    });
  const mailActivities = (summary: string) =>
    proxyActivities<Activities>({
      startToCloseTimeout: '60s',
      retry: { ...retry, nonRetryableErrorTypes: ['EmailRejected'] },
      summary,
    });

  const carried = input.carried;
  let fields: LeadFields | undefined = carried?.fields;
  let version = carried?.version ?? 0;
  let score = carried?.score ?? 0;
  let crm: LeadView['crm'] = carried?.crm ?? { status: 'pending', synced_version: 0 };
  let welcome: WelcomeState = carried?.welcome ?? 'pending';
  let createdAt = carried?.createdAt ?? '';
  let updatedAt = carried?.updatedAt ?? '';
  const tasks = new Map<string, TaskState>((carried?.tasks ?? []).map((t) => [t.task_id, t]));
  const pending: LeadChange[] = [...(carried?.pending ?? [])];

  const now = () => new Date().toISOString();

  function view(): LeadView | null {
    return fields ? leadView(leadId, fields, { version, score, crm, createdAt, updatedAt }) : null;
  }

  // The lead as the last finished lead_process left it (carried state is processed).
  // Between applying a batch and normalizing it, view() shows raw fields under the new
  // version; a second writer copying that to the CRM would pin raw content to a version.
  let processed: Omit<LeadView, 'crm'> | null = null;
  const snapshotProcessed = () => {
    const lead = view();
    if (lead) {
      const { crm: _live, ...rest } = lead;
      processed = rest;
    }
  };
  const processedView = (): LeadView | null => (processed ? { ...processed, crm: { ...crm } } : null);
  snapshotProcessed();

  function accept(change: LeadChange): void {
    // A client retry with the same Idempotency-Key carries the same task id: apply once.
    if (tasks.has(change.task_id)) return;
    const withWelcome = change.op === 'create' && welcome === 'pending' && !fields && !pending.some((c) => c.op === 'create');
    tasks.set(change.task_id, queuedTask(leadId, change, withWelcome));
    pruneTasks();
    pending.push(change);
  }

  function pruneTasks(): void {
    for (const [id, task] of tasks) {
      if (tasks.size <= TASKS_KEPT) break;
      if (isTerminal(task.status)) tasks.delete(id);
    }
  }

  function updateStep(batch: TaskState[], name: StepName, patch: Partial<TaskStep>): void {
    for (const task of batch) {
      const step = task.steps.find((s) => s.name === name);
      if (!step) continue;
      Object.assign(step, patch);
      task.attempts = Math.max(task.attempts, step.attempts);
      if (step.last_error) task.last_error = step.last_error;
      task.updated_at = now();
    }
  }

  // Generation 2: the search-attribute values visibility holds, so only changes are upserted
  // (each upsert is a history event and a visibility write). A new run's start carried the
  // email and stage; a continued run carries the last values published.
  const published = new Map<string, string | number>();
  if (current && input.initial && !carried) {
    published.set(SA.email.name, input.initial.fields.email ?? '');
    published.set(SA.stage.name, input.initial.fields.stage ?? 'new');
  } else if (current && carried) {
    published.set(SA.email.name, carried.fields.email);
    published.set(SA.stage.name, carried.fields.stage ?? 'new');
    published.set(SA.score.name, carried.score);
    published.set(SA.crmStatus.name, carried.crm.status);
  }

  /** Publishes the lead at a batch's end (or a repair's): memo, and search attributes that changed. */
  function publish(batchTasks: TaskState[] = []): void {
    const lead = view();
    if (!lead) return;
    const recent = [...tasks.values()].slice(-TASKS_IN_MEMO).map((t) => [t.task_id, t.status, t.version]);
    if (readModel) {
      // What the API's read model starts from (domain/lead-read-model.ts): the finished batch's
      // tasks in full, and which accepted changes this lead has not applied yet.
      const memo: ReadMemo = { lead, tasks: recent as ReadMemo['tasks'], batch: batchTasks.slice(-MEMO_BATCH_TASKS), queued: pending.map((c) => c.task_id) };
      upsertMemo({ ...memo });
    } else {
      upsertMemo({ lead, tasks: recent });
    }
    const attrs = [
      { key: SA.email, value: lead.email },
      { key: SA.stage, value: lead.stage },
      { key: SA.score, value: lead.score },
      { key: SA.crmStatus, value: crm.status as string },
    ];
    if (!current) {
      upsertSearchAttributes([...attrs, { key: SA.version, value: version }] as Parameters<typeof upsertSearchAttributes>[0]);
      return;
    }
    const changed = attrs.filter((attr) => published.get(attr.key.name) !== attr.value);
    if (changed.length === 0) return;
    for (const attr of changed) published.set(attr.key.name, attr.value);
    upsertSearchAttributes(changed as Parameters<typeof upsertSearchAttributes>[0]);
  }

  async function syncCrm(): Promise<{ ok: boolean; attempts: number; error: string | null }> {
    // Exactly what processedLeadQuery shows for this version (see `processed`).
    const lead = processed!;
    const target = lead.version;
    crm = { ...crm, status: 'syncing' as CrmStatus };
    try {
      const result = await crmActivities(`crm v${target}`).syncLeadToCrm({ leadId, version: target, lead });
      crm = { status: 'synced', synced_version: Math.max(crm.synced_version, target) };
      return { ok: true, attempts: result.attempt, error: null };
    } catch (err) {
      const error = describeFailure(err);
      crm = { status: 'failed', synced_version: crm.synced_version, last_error: error };
      return { ok: false, attempts: failedAttempts(err, settings.maxAttempts), error };
    }
  }

  async function sendWelcome(): Promise<{ ok: boolean; attempts: number; error: string | null }> {
    try {
      const result = await mailActivities('email: welcome').sendLeadEmail({
        leadId,
        template: 'welcome',
        lead: view()!,
      });
      welcome = 'sent';
      return { ok: true, attempts: result.attempt, error: null };
    } catch (err) {
      welcome = 'failed';
      return { ok: false, attempts: failedAttempts(err, settings.maxAttempts), error: describeFailure(err) };
    }
  }

  /** crm_update: one write carrying the latest version covers every change in the batch. */
  async function crmStep(batchTasks: TaskState[]): Promise<void> {
    updateStep(batchTasks, 'crm_update', { status: 'running', started_at: now() });
    const synced = await syncCrm();
    updateStep(batchTasks, 'crm_update', {
      status: synced.ok ? 'completed' : 'failed',
      attempts: synced.attempts,
      last_error: synced.error,
      finished_at: now(),
    });
  }

  /** email_send: the welcome email, once per lead, for the change that created it. */
  async function welcomeStep(batchTasks: TaskState[]): Promise<void> {
    const creator = batchTasks.filter((t) => t.steps.some((s) => s.name === 'email_send'));
    if (creator.length === 0) return;
    if (fields?.unsubscribed) {
      welcome = 'skipped';
      updateStep(creator, 'email_send', { status: 'skipped', note: 'lead is unsubscribed', finished_at: now() });
      return;
    }
    updateStep(creator, 'email_send', { status: 'running', started_at: now() });
    const sent = await sendWelcome();
    updateStep(creator, 'email_send', {
      status: sent.ok ? 'completed' : 'failed',
      attempts: sent.attempts,
      last_error: sent.error,
      finished_at: now(),
    });
  }

  async function processBatch(batch: LeadChange[]): Promise<void> {
    const batchTasks = batch.map((c) => tasks.get(c.task_id)).filter((t): t is TaskState => !!t);
    for (const change of batch) {
      fields = applyChange(fields, change);
      version += 1;
      if (!createdAt) createdAt = change.received_at;
      updatedAt = change.received_at;
      const task = tasks.get(change.task_id);
      if (task) {
        task.version = version;
        task.status = 'running';
      }
    }

    // lead_process: normalize and score the merged state once for the whole batch.
    updateStep(batchTasks, 'lead_process', { status: 'running', started_at: now() });
    try {
      const processed = await processLead({ leadId, fields: fields! });
      fields = processed.fields;
      score = processed.score;
      updateStep(batchTasks, 'lead_process', { status: 'completed', attempts: processed.attempt, finished_at: now() });
    } catch (err) {
      const error = describeFailure(err);
      updateStep(batchTasks, 'lead_process', { status: 'failed', last_error: error, finished_at: now() });
    }
    snapshotProcessed();

    // crm_update and email_send run side by side: a CRM outage must not hold back the welcome.
    await Promise.all([crmStep(batchTasks), welcomeStep(batchTasks)]);

    for (const task of batchTasks) {
      task.status = task.steps.some((s) => s.status === 'failed') ? 'failed' : 'completed';
      task.updated_at = now();
    }
    publish(batchTasks);
  }

  /** After a failed sync or welcome email, try again later even if no new change arrives. */
  async function repair(): Promise<void> {
    if (crm.status === 'failed') await syncCrm();
    if (welcome === 'failed' && !fields?.unsubscribed) await sendWelcome();
    publish();
  }

  const needsRepair = () => crm.status === 'failed' || welcome === 'failed';
  const historyIsLong = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= settings.continueAsNewAfterEvents;

  // Signals that arrived before the first workflow task are delivered the moment their
  // handler is set, so the creating change must be accepted first or updates acknowledged
  // after it would be applied before it (found by the fault-injection suite). Patched so
  // histories recorded with the old order still replay.
  const initialFirst = current || patched('initial-change-first');
  if (initialFirst && input.initial) accept(input.initial);
  setHandler(leadChangeSignal, accept);
  setHandler(leadQuery, view);
  setHandler(processedLeadQuery, processedView);
  setHandler(taskQuery, (taskId) => tasks.get(taskId) ?? null);

  if (!initialFirst && input.initial) accept(input.initial);

  for (;;) {
    const woke = await condition(
      () => pending.length > 0 || historyIsLong(),
      needsRepair() ? settings.crmResyncIntervalMs : undefined,
    );
    if (pending.length > 0) {
      const before = view();
      const batch = pending.splice(0, MAX_BATCH);
      await processBatch(batch);
      // Start the automations this batch triggers. patched() keeps histories recorded
      // before automations existed replaying: for them it is false at this point.
      if (current || patched('automation-triggers')) await startTriggeredAutomations(leadId, before, view()!, batch, settings);
    } else if (!woke && needsRepair()) {
      await repair();
    }
    if (historyIsLong() && pending.length === 0) {
      // Let signal handlers settle so no accepted change is dropped at the run boundary;
      // anything that still arrives is carried over in `pending`.
      await condition(allHandlersFinished);
      await continueAsNew<typeof leadWorkflow>({
        leadId,
        settings,
        generation: LEAD_WORKFLOW_GENERATION,
        carried: {
          fields: fields!,
          version,
          score,
          crm,
          welcome,
          createdAt,
          updatedAt,
          tasks: [...tasks.values()].slice(-TASKS_KEPT),
          pending: pending.splice(0),
        },
      });
    }
  }
}

function describeFailure(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Activities put their attempt number in their failures' details (see activities/failures.ts). */
function failedAttempts(err: unknown, maxAttempts: number): number {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempt?: unknown } | undefined) : undefined;
  return typeof detail?.attempt === 'number' ? detail.attempt : maxAttempts;
}
