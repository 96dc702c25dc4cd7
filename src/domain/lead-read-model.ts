import { applyChange } from './apply-change.js';
import { leadView } from './lead-view.js';
import type { LeadChange, LeadFields, LeadView } from './lead.js';
import { queuedTask, type StepName, type TaskState, type TaskStatus } from './task.js';

// The API's read model of a lead: what a read answers, folded from the lead workflow's last
// published memo and the events recorded after it, without asking a worker. Pure, so the
// fold can be tested on plain data; src/api/lead-tail.ts turns Temporal histories into it.

/** The most changes the lead workflow applies in one batch. */
export const MAX_BATCH = 100;
/** The most tasks of a finished batch a memo carries in full. */
export const MEMO_BATCH_TASKS = 10;

/** A task known by its status only: [task id, status, version]. */
export type TaskSummary = [string, TaskStatus, number | null];

/** The memo a generation-3 lead workflow publishes at the end of each batch (and repair). */
export interface ReadMemo {
  lead: LeadView;
  /** The most recent tasks, oldest first. */
  tasks: TaskSummary[];
  /** The tasks of the batch that just ended, in full. */
  batch: TaskState[];
  /** Changes accepted but not yet applied, in order: they arrived while the batch ran. */
  queued: string[];
}

/** Where a fold starts: a published memo, or the start of the current run. */
export interface ReadBase {
  lead: LeadView | null;
  /** Tasks known in full. */
  tasks: TaskState[];
  /** Tasks known by status only. */
  recent: TaskSummary[];
  /** Changes accepted but not yet applied, in order. */
  pending: LeadChange[];
}

/** What happened after the base, in history order. */
export type TailEvent =
  | { kind: 'change'; at: string; change: LeadChange }
  | { kind: 'batch_started'; at: string; result?: { fields: LeadFields; score: number; attempt?: number }; error?: string }
  | { kind: 'activity'; at: string; step: 'crm_update' | 'email_send'; outcome: 'scheduled' | 'completed' | 'failed'; error?: string };

/** An activity Temporal is retrying right now (its pending state, from describe). */
export interface RetryingStep {
  step: StepName;
  attempt: number;
  lastError: string | null;
}

export interface LeadReadModel {
  /** The lead with every accepted change applied (changes not yet processed are shown raw). */
  lead: LeadView | null;
  /** The task in full; 'summary' when the fold knows it only by status; undefined when unknown. */
  task(taskId: string): TaskState | 'summary' | undefined;
}

const VIEW_ONLY_KEYS = ['id', 'version', 'score', 'crm', 'created_at', 'updated_at'] as const;

/**
 * Folds the base and the events after it the way the lead workflow applies them: changes are
 * accepted in arrival order, a batch takes every accepted change when processLead's marker is
 * recorded, and the batch's CRM write and welcome email move its tasks' steps.
 */
export function foldLead(leadId: string, base: ReadBase, tail: TailEvent[], retrying: RetryingStep[] = []): LeadReadModel {
  const tasks = new Map<string, TaskState>(base.tasks.map((t) => [t.task_id, structuredClone(t)]));
  const summaries = new Map(base.recent.map((s) => [s[0], s]));
  const known = new Set<string>([...summaries.keys(), ...tasks.keys()]);
  const pending: LeadChange[] = [];
  let batch: LeadChange[] | undefined;
  let processed: { fields: LeadFields; score: number } | undefined;
  let crmRunning = false;

  const accept = (change: LeadChange, alreadyAccepted: boolean) => {
    if (!alreadyAccepted && known.has(change.task_id)) return;
    known.add(change.task_id);
    const withWelcome = change.op === 'create' && !base.lead && ![...(batch ?? []), ...pending].some((c) => c.op === 'create');
    const full = tasks.get(change.task_id);
    if (!full || full.status !== 'queued') tasks.set(change.task_id, queuedTask(leadId, change, withWelcome));
    pending.push(change);
  };
  const batchTasks = () => (batch ?? []).map((c) => tasks.get(c.task_id)!);

  for (const change of base.pending) accept(change, true);
  let version = base.lead?.version ?? 0;
  for (const event of tail) {
    if (event.kind === 'change') {
      accept(event.change, false);
    } else if (event.kind === 'batch_started') {
      if (batch) continue; // one batch at most runs after a memo: the next memo ends it
      batch = pending.splice(0, MAX_BATCH);
      if (event.result) processed = { fields: event.result.fields, score: event.result.score };
      for (const task of batchTasks()) {
        task.version = ++version;
        task.status = 'running';
        setStep(task, 'lead_process', {
          status: event.error ? 'failed' : 'completed',
          attempts: event.result?.attempt ?? 1,
          last_error: event.error ?? null,
          started_at: event.at,
          finished_at: event.at,
        });
      }
    } else if (batch) {
      if (event.step === 'crm_update') crmRunning = event.outcome === 'scheduled';
      for (const task of batchTasks()) {
        if (event.outcome === 'scheduled') setStep(task, event.step, { status: 'running', started_at: event.at });
        else setStep(task, event.step, { status: event.outcome, last_error: event.error ?? null, finished_at: event.at });
      }
    }
  }
  for (const retry of retrying) {
    for (const task of batchTasks()) {
      const step = task.steps.find((s) => s.name === retry.step && s.status === 'running');
      if (!step) continue;
      step.attempts = retry.attempt;
      step.last_error = retry.lastError;
      task.attempts = Math.max(task.attempts, retry.attempt);
      task.last_error = retry.lastError ?? task.last_error;
      if (retry.attempt > 1) task.status = 'retrying';
    }
  }

  return {
    lead: foldView(leadId, base.lead, batch ?? [], processed, pending, crmRunning),
    task: (taskId) => tasks.get(taskId) ?? (summaries.has(taskId) ? 'summary' : undefined),
  };
}

function foldView(
  leadId: string,
  base: LeadView | null,
  batch: LeadChange[],
  processed: { fields: LeadFields; score: number } | undefined,
  pending: LeadChange[],
  crmRunning: boolean,
): LeadView | null {
  let fields: LeadFields | undefined = base ? fieldsOf(base) : undefined;
  let version = base?.version ?? 0;
  let score = base?.score ?? 0;
  for (const change of batch) fields = applyChange(fields, change);
  if (processed) {
    fields = processed.fields;
    score = processed.score;
  }
  for (const change of pending) fields = applyChange(fields, change);
  if (!fields) return null;
  const changes = [...batch, ...pending];
  version += changes.length;
  const crm = base?.crm ?? { status: 'pending' as const, synced_version: 0 };
  return leadView(leadId, fields, {
    version,
    score,
    crm: crmRunning ? { status: 'syncing', synced_version: crm.synced_version } : crm,
    createdAt: base?.created_at || changes[0]?.received_at || '',
    updatedAt: changes.at(-1)?.received_at ?? base?.updated_at ?? '',
  });
}

function fieldsOf(view: LeadView): LeadFields {
  const fields: Record<string, unknown> = { ...view };
  for (const key of VIEW_ONLY_KEYS) delete fields[key];
  return fields as LeadFields;
}

function setStep(task: TaskState, name: StepName, patch: Partial<TaskState['steps'][number]>): void {
  const step = task.steps.find((s) => s.name === name);
  if (!step) return;
  Object.assign(step, patch);
  task.attempts = Math.max(task.attempts, step.attempts);
  if (step.last_error) task.last_error = step.last_error;
  if (patch.finished_at ?? patch.started_at) task.updated_at = (patch.finished_at ?? patch.started_at)!;
}
