import { applyLeadChange, isNewChange, NO_LEAD, type LeadState } from '../domain/lead-fold.js';
import { leadView } from '../domain/lead-view.js';
import type { LeadChange, LeadFields, LeadView } from '../domain/lead.js';
import { isTerminal, queuedTask, type StepName, type TaskState, type TaskStep } from '../domain/task.js';
import type { CarriedLeadState, WelcomeState } from '../temporal/lead-messages.js';

const TASKS_KEPT = 200;

export const now = () => new Date().toISOString();

/**
 * One lead as its workflow run holds it: the lead (applied with domain/lead-fold.ts), its
 * score, CRM and welcome state, its tasks, and the changes accepted but not yet applied.
 */
export class LeadEntity {
  lead: LeadState;
  score: number;
  crm: LeadView['crm'];
  welcome: WelcomeState;
  /** Generation 5: the failed welcome was refused (a dead letter), so the repair timer leaves it. */
  welcomePermanent: boolean;
  /** Generation 5: timer repairs in a row that left transient work failed (the backoff's step). */
  failedRepairs: number;
  /** When the CRM last changed each field it changed (CRM changes' crm_at), so a late one cannot undo a newer. */
  readonly crmFieldAt: Record<string, string>;
  readonly tasks: Map<string, TaskState>;
  readonly pending: LeadChange[];
  // The lead as the last finished lead_process left it (carried state is processed).
  // Between applying a batch and normalizing it, view() shows raw fields under the new
  // version; a second writer copying that to the CRM would pin raw content to a version.
  private processed: Omit<LeadView, 'crm'> | null = null;

  constructor(
    readonly leadId: string,
    carried: CarriedLeadState | undefined,
  ) {
    this.lead = carried
      ? { fields: carried.fields, version: carried.version, createdAt: carried.createdAt, updatedAt: carried.updatedAt }
      : NO_LEAD;
    this.score = carried?.score ?? 0;
    this.crm = carried?.crm ?? { status: 'pending', synced_version: 0 };
    this.welcome = carried?.welcome ?? 'pending';
    this.welcomePermanent = carried?.welcomePermanent ?? false;
    this.failedRepairs = carried?.failedRepairs ?? 0;
    this.crmFieldAt = { ...(carried?.crmFieldAt ?? {}) };
    this.tasks = new Map((carried?.tasks ?? []).map((t) => [t.task_id, t]));
    this.pending = [...(carried?.pending ?? [])];
    this.snapshotProcessed();
  }

  get fields(): LeadFields | undefined {
    return this.lead.fields;
  }

  view(): LeadView | null {
    const { fields, ...state } = this.lead;
    return fields ? leadView(this.leadId, fields, { ...state, score: this.score, crm: this.crm }) : null;
  }

  /** The lead as of its last processed version, with the CRM state as it is now. */
  processedView(): LeadView | null {
    return this.processed ? { ...this.processed, crm: { ...this.crm } } : null;
  }

  /** What the CRM write of the last processed version carries (see `processed`). */
  processedLead(): Omit<LeadView, 'crm'> {
    return this.processed!;
  }

  snapshotProcessed(): void {
    const lead = this.view();
    if (lead) {
      const { crm: _live, ...rest } = lead;
      this.processed = rest;
    }
  }

  accept(change: LeadChange): void {
    if (!isNewChange(this.tasks, change)) return;
    const withWelcome =
      change.op === 'create' && this.welcome === 'pending' && !this.fields && !this.pending.some((c) => c.op === 'create');
    this.tasks.set(change.task_id, queuedTask(this.leadId, change, withWelcome));
    this.pruneTasks();
    this.pending.push(change);
  }

  private pruneTasks(): void {
    for (const [id, task] of this.tasks) {
      if (this.tasks.size <= TASKS_KEPT) break;
      if (isTerminal(task.status)) this.tasks.delete(id);
    }
  }

  /** Applies a batch in arrival order; returns its tasks, each with the version it produced. */
  applyBatch(batch: LeadChange[]): TaskState[] {
    const batchTasks = batch.map((c) => this.tasks.get(c.task_id)).filter((t): t is TaskState => !!t);
    for (const change of batch) {
      this.lead = applyLeadChange(this.lead, change.source === 'crm' ? this.newerInCrm(change) : change);
      const task = this.tasks.get(change.task_id);
      if (task) {
        task.version = this.lead.version;
        task.status = 'running';
      }
    }
    return batchTasks;
  }

  /**
   * A CRM change without the fields the CRM changed later than it says this change was made
   * (webhooks arrive out of order when the CRM retries one); notes when each kept field changed.
   */
  private newerInCrm(change: LeadChange): LeadChange {
    const at = change.crm_at ?? change.received_at;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(change.fields)) {
      const seen = this.crmFieldAt[key];
      if (seen !== undefined && seen > at) continue;
      fields[key] = value;
      this.crmFieldAt[key] = at;
    }
    return { ...change, fields: fields as LeadChange['fields'] };
  }

  /** The normalized, scored fields of the batch just applied. */
  setProcessed(fields: LeadFields, score: number): void {
    this.lead = { ...this.lead, fields };
    this.score = score;
  }

  finishBatch(batchTasks: TaskState[]): void {
    for (const task of batchTasks) {
      task.status = task.steps.some((s) => s.status === 'failed') ? 'failed' : 'completed';
      task.updated_at = now();
    }
  }

  /** Something failed: what a re-drive retries (dead letters included). */
  needsRepair(): boolean {
    return this.crm.status === 'failed' || this.welcome === 'failed';
  }

  /** Something failed transiently: what the repair timer retries (generation 5, see lead-repair.ts). */
  needsTimerRepair(): boolean {
    return (this.crm.status === 'failed' && !this.crm.permanent) || (this.welcome === 'failed' && !this.welcomePermanent);
  }

  /** The state the next run starts from; takes every change still pending. */
  carry(): CarriedLeadState {
    return {
      fields: this.fields!,
      version: this.lead.version,
      score: this.score,
      crm: this.crm,
      welcome: this.welcome,
      createdAt: this.lead.createdAt,
      updatedAt: this.lead.updatedAt,
      tasks: [...this.tasks.values()].slice(-TASKS_KEPT),
      pending: this.pending.splice(0),
      // Only when set, so runs that never had a dead letter carry what they always did.
      ...(this.welcomePermanent ? { welcomePermanent: true } : {}),
      ...(this.failedRepairs > 0 ? { failedRepairs: this.failedRepairs } : {}),
      ...(Object.keys(this.crmFieldAt).length > 0 ? { crmFieldAt: { ...this.crmFieldAt } } : {}),
    };
  }
}

export function updateStep(batch: TaskState[], name: StepName, patch: Partial<TaskStep>): void {
  for (const task of batch) {
    const step = task.steps.find((s) => s.name === name);
    if (!step) continue;
    Object.assign(step, patch);
    task.attempts = Math.max(task.attempts, step.attempts);
    if (step.last_error) task.last_error = step.last_error;
    task.updated_at = now();
  }
}
