import { applyChanges, applyLeadChange, isNewChange, NO_LEAD, type LeadState } from './lead-fold.js';
import { leadView } from './lead-view.js';
import type { LeadChange, LeadFields, LeadView } from './lead.js';
import { queuedTask, type StepName, type TaskState, type TaskStatus } from './task.js';

// The API's read model of a lead: what a read answers, folded from the lead workflow's last
// published memo and the events recorded after it, without asking a worker. Pure, so the
// fold can be tested on plain data; src/leads/lead-tail.ts turns Temporal histories into it.

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
  const fold = new ReadFold(leadId, base);
  for (const event of tail) fold.add(event);
  for (const retry of retrying) fold.markRetrying(retry);
  return { lead: fold.lead(), task: (taskId) => fold.task(taskId) };
}

/** The fold's running state: the lead as of the batch seen (lead-fold.ts), tasks, changes not applied. */
class ReadFold {
  private readonly tasks: Map<string, TaskState>;
  private readonly summaries: Map<string, TaskSummary>;
  private readonly known: Set<string>;
  private readonly pending: LeadChange[] = [];
  private batch: LeadChange[] | undefined;
  private state: LeadState;
  private score: number;
  private crmRunning = false;

  constructor(
    private readonly leadId: string,
    private readonly base: ReadBase,
  ) {
    this.tasks = new Map(base.tasks.map((t) => [t.task_id, structuredClone(t)]));
    this.summaries = new Map(base.recent.map((s) => [s[0], s]));
    this.known = new Set([...this.summaries.keys(), ...this.tasks.keys()]);
    const lead = base.lead;
    this.state = lead ? { fields: fieldsOf(lead), version: lead.version, createdAt: lead.created_at, updatedAt: lead.updated_at } : NO_LEAD;
    this.score = lead?.score ?? 0;
    for (const change of base.pending) this.accept(change, true);
  }

  add(event: TailEvent): void {
    if (event.kind === 'change') this.accept(event.change, false);
    else if (event.kind === 'batch_started') this.startBatch(event);
    else if (this.batch) this.moveStep(event);
  }

  private accept(change: LeadChange, alreadyAccepted: boolean): void {
    if (!alreadyAccepted && !isNewChange(this.known, change)) return;
    this.known.add(change.task_id);
    const withWelcome = change.op === 'create' && !this.base.lead && ![...(this.batch ?? []), ...this.pending].some((c) => c.op === 'create');
    const full = this.tasks.get(change.task_id);
    if (!full || full.status !== 'queued') this.tasks.set(change.task_id, queuedTask(this.leadId, change, withWelcome));
    this.pending.push(change);
  }

  private startBatch(event: Extract<TailEvent, { kind: 'batch_started' }>): void {
    if (this.batch) return; // one batch at most runs after a memo: the next memo ends it
    this.batch = this.pending.splice(0, MAX_BATCH);
    for (const change of this.batch) {
      this.state = applyLeadChange(this.state, change);
      const task = this.tasks.get(change.task_id)!;
      task.version = this.state.version;
      task.status = 'running';
      setStep(task, 'lead_process', {
        status: event.error ? 'failed' : 'completed',
        attempts: event.result?.attempt ?? 1,
        last_error: event.error ?? null,
        started_at: event.at,
        finished_at: event.at,
      });
    }
    if (event.result) {
      this.state = { ...this.state, fields: event.result.fields };
      this.score = event.result.score;
    }
  }

  private moveStep(event: Extract<TailEvent, { kind: 'activity' }>): void {
    if (event.step === 'crm_update') this.crmRunning = event.outcome === 'scheduled';
    for (const task of this.batchTasks()) {
      if (event.outcome === 'scheduled') setStep(task, event.step, { status: 'running', started_at: event.at });
      else setStep(task, event.step, { status: event.outcome, last_error: event.error ?? null, finished_at: event.at });
    }
  }

  markRetrying(retry: RetryingStep): void {
    for (const task of this.batchTasks()) {
      const step = task.steps.find((s) => s.name === retry.step && s.status === 'running');
      if (!step) continue;
      step.attempts = retry.attempt;
      step.last_error = retry.lastError;
      task.attempts = Math.max(task.attempts, retry.attempt);
      task.last_error = retry.lastError ?? task.last_error;
      if (retry.attempt > 1) task.status = 'retrying';
    }
  }

  /** The lead with every accepted change applied: changes after the batch are shown raw. */
  lead(): LeadView | null {
    const { fields, ...state } = applyChanges(this.state, this.pending);
    if (!fields) return null;
    const crm = this.base.lead?.crm ?? { status: 'pending' as const, synced_version: 0 };
    return leadView(this.leadId, fields, {
      ...state,
      score: this.score,
      crm: this.crmRunning ? { status: 'syncing', synced_version: crm.synced_version } : crm,
    });
  }

  task(taskId: string): TaskState | 'summary' | undefined {
    return this.tasks.get(taskId) ?? (this.summaries.has(taskId) ? 'summary' : undefined);
  }

  private batchTasks(): TaskState[] {
    return (this.batch ?? []).map((c) => this.tasks.get(c.task_id)!);
  }
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
