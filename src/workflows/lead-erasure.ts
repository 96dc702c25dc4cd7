import { proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StepName, TaskState } from '../domain/task.js';
import { erasureTaskQuery, type LeadErasureInput } from '../temporal/erasure-messages.js';
import { describeFailure } from './lead-steps.js';

const STEPS: StepName[] = ['stop_runs', 'crm_delete', 'suppress_address', 'release_claim', 'delete_executions'];

// An erasure must finish: each step retries until it succeeds (backoff to 5 minutes), but for
// a refusal that retrying cannot change, which fails the task for an operator to look at.
const retry = { initialInterval: '1s', maximumInterval: '5m', backoffCoefficient: 2, nonRetryableErrorTypes: ['CrmRejected', 'CrmConflict'] };

/**
 * Erases a lead (GET /api/leads/:id answers 410 afterwards), workflow id `erase-<leadId>`:
 * stops its runs, deletes its CRM contact, suppresses its address so nothing mails it again
 * (the keyed hash is all that is kept), releases its email claim, and deletes every Temporal
 * execution that holds its data. What it keeps is this workflow: the lead id, the email keys
 * and the steps' outcomes, as the record that the erasure happened. docs/personal-data.md.
 */
export async function leadErasure(input: LeadErasureInput): Promise<void> {
  const at = () => new Date().toISOString();
  const task: TaskState = {
    task_id: input.taskId,
    lead_id: input.leadId,
    type: 'lead_erase',
    op: 'erase',
    status: 'running',
    version: null,
    attempts: 0,
    last_error: null,
    created_at: input.requestedAt,
    updated_at: input.requestedAt,
    steps: STEPS.map((name) => ({ name, status: 'pending', attempts: 0, last_error: null, started_at: null, finished_at: null })),
  };
  setHandler(erasureTaskQuery, () => task);
  const publish = () => upsertMemo({ task });

  const main = proxyActivities<Activities>({ startToCloseTimeout: '2m', heartbeatTimeout: '30s', retry });
  const crm = proxyActivities<Activities>({ taskQueue: input.crmTaskQueue, startToCloseTimeout: '1m', retry });
  const { leadId, emailKeys } = input;

  const run = async (name: StepName, step: () => Promise<{ note: string }>) => {
    const state = task.steps.find((s) => s.name === name)!;
    Object.assign(state, { status: 'running', started_at: at() });
    try {
      const { note } = await step();
      Object.assign(state, { status: 'completed', finished_at: at(), note, attempts: 1 });
    } catch (err) {
      const message = describeFailure(err);
      Object.assign(state, { status: 'failed', finished_at: at(), last_error: message });
      task.last_error = message;
      throw err;
    } finally {
      task.updated_at = at();
      publish();
    }
  };

  try {
    await run('stop_runs', () => main.stopLeadRuns({ leadId }));
    await run('crm_delete', () => crm.deleteCrmContact({ leadId }));
    await run('suppress_address', () => main.suppressErasedAddress({ emailKeys }));
    await run('release_claim', () => main.releaseErasedClaims({ leadId, emailKeys }));
    await run('delete_executions', () => main.deleteLeadExecutions({ leadId }));
    task.status = 'completed';
  } catch {
    task.status = 'failed';
  }
  task.updated_at = at();
  publish();
}

