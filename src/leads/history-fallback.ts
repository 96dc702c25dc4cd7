import { WorkflowNotFoundError } from '@temporalio/client';
import type { LeadChange, LeadView } from '../domain/lead.js';
import { acceptChanges, applyChanges, NO_LEAD } from '../domain/lead-fold.js';
import { leadView } from '../domain/lead-view.js';
import type { LeadWorkflowInput } from '../temporal/lead-messages.js';
import { issuedTaskOp, leadWorkflowId } from '../domain/ids.js';
import { ACTIVITY_OF_STEP, type TaskState, type TaskStatus, type LeadStepName } from '../domain/task.js';
import { LeadNotFoundError, TaskNotFoundError } from './errors.js';
import { acceptedChanges } from './history.js';
import type { TemporalCalls } from '../temporal/calls.js';

// Reads answered from Temporal's records when neither the read model nor a worker can answer
// (a run of an older generation, no worker answering queries): the run's history for the
// changes, its memo for what the last processed batch made of them.

/** The lead with every change its current run accepted, scored and synced as last processed. */
export async function leadFromHistory(calls: TemporalCalls, id: string, deadline: number): Promise<LeadView> {
  const events = await calls.runHistory(leadWorkflowId(id), undefined, () => new LeadNotFoundError(id), deadline);
  const { input, changes } = acceptedChanges(events ?? []);
  const lead = leadOfRun(id, input, changes, await memoLead(calls, id, deadline));
  if (!lead) throw new LeadNotFoundError(id);
  return lead;
}

/**
 * Folds a run's accepted changes onto the state it started from (domain/lead-fold.ts, as the
 * workflow applies them); score and CRM state come from the last processed memo. Changes the
 * run was handed at continue-as-new are queued tasks of the carried state, not yet applied.
 */
export function leadOfRun(
  id: string,
  input: LeadWorkflowInput | undefined,
  changes: LeadChange[],
  processed: LeadView | undefined,
): LeadView | undefined {
  const carried = input?.carried;
  const applied = new Set(carried?.tasks.filter((t) => t.version !== null).map((t) => t.task_id));
  const lead = applyChanges(carried ?? NO_LEAD, acceptChanges(applied, changes));
  if (!lead.fields) return undefined;
  return leadView(id, lead.fields, {
    ...lead,
    score: processed?.score ?? carried?.score ?? 0,
    crm: processed?.crm ?? carried?.crm ?? { status: 'pending', synced_version: 0 },
  });
}

/** A task by the memo's recent statuses and the run's accepted changes; `queued` until a batch takes it. */
export async function taskFromHistory(calls: TemporalCalls, leadId: string, taskId: string, deadline: number): Promise<TaskState> {
  const description = await describeLead(calls, leadId, deadline).catch((err: unknown) => {
    throw err instanceof WorkflowNotFoundError ? new TaskNotFoundError(taskId) : err;
  });
  const recent = (description.memo?.tasks ?? []) as Array<[string, TaskStatus, number | null]>;
  const known = recent.find(([id]) => id === taskId);
  const events = await calls.runHistory(leadWorkflowId(leadId), undefined, () => new TaskNotFoundError(taskId), deadline);
  const change = acceptedChanges(events ?? []).changes.find((c) => c.task_id === taskId);
  if (!known && !change && !(await mayBeBuffered(calls, leadId, taskId, deadline))) throw new TaskNotFoundError(taskId);
  const op = change?.op ?? issuedTaskOp(taskId) ?? 'replace';
  return {
    task_id: taskId,
    lead_id: leadId,
    type: op === 'create' ? 'lead_process' : 'crm_update',
    op,
    // Not yet in the memo of finished work: accepted and waiting for a worker.
    status: known?.[1] ?? 'queued',
    version: known?.[2] ?? null,
    attempts: 0,
    last_error: null,
    created_at: change?.received_at ?? '',
    updated_at: change?.received_at ?? '',
    steps: [],
  };
}

/** While an activity retries, the workflow cannot see it: Temporal's pending-activity state can. */
export async function addRetryState(calls: TemporalCalls, leadId: string, task: TaskState, deadline: number): Promise<void> {
  // Best effort within the read's deadline: without it the task is still answered.
  const description = await describeLead(calls, leadId, deadline).catch(() => undefined);
  const running = task.steps.find((s) => s.status === 'running');
  const activityType = running && ACTIVITY_OF_STEP[running.name as LeadStepName];
  for (const pending of description?.raw.pendingActivities ?? []) {
    if (pending.activityType?.name !== activityType || !running) continue;
    const attempt = pending.attempt ?? 1;
    running.attempts = attempt;
    running.last_error = pending.lastFailure?.message ?? null;
    task.attempts = Math.max(task.attempts, attempt);
    task.last_error = running.last_error ?? task.last_error;
    if (attempt > 1) task.status = 'retrying';
  }
}

/**
 * Whether an acknowledged change can be missing from the history just read. Temporal keeps
 * signals that arrive while a workflow task is running (say, on a worker that was just
 * killed) out of the history until that task completes or times out, up to the workflow
 * task timeout later. So a task id that this API issued (its check holds: it was handed out
 * in a 202, so its change is durable) is not denied while the lead has a workflow task
 * outstanding; it reads as `queued`. Any other id not found is unknown.
 */
async function mayBeBuffered(calls: TemporalCalls, leadId: string, taskId: string, deadline: number): Promise<boolean> {
  if (!issuedTaskOp(taskId)) return false;
  // Described again, after the history read: a signal that came in between and was held
  // back by a workflow task started meanwhile shows here, not in the earlier description.
  const description = await describeLead(calls, leadId, deadline);
  return !!description.raw.pendingWorkflowTask;
}

async function memoLead(calls: TemporalCalls, id: string, deadline: number): Promise<LeadView | undefined> {
  const description = await describeLead(calls, id, deadline);
  return description.memo?.lead as LeadView | undefined;
}

async function describeLead(calls: TemporalCalls, leadId: string, deadline: number) {
  const description = await calls.within(deadline, () => calls.client.workflow.getHandle(leadWorkflowId(leadId)).describe());
  // The pending activities' last failures, when encrypted (the client decodes only the memo).
  await calls.decoded(description.raw);
  return description;
}
