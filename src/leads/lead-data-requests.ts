import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { erasureWorkflowId, leadWorkflowId, newTaskId } from '../domain/ids.js';
import type { LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';
import type { AddressBook } from '../identity/address-book.js';
import { erasureTaskQuery, type LeadErasureInput } from '../temporal/erasure-messages.js';
import { isNotFound } from '../temporal/protocol.js';
import { leadErasure } from '../workflows/index.js';
import { TaskNotFoundError } from './errors.js';
import type { LeadEvent } from './history.js';
import type { TemporalCalls } from '../temporal/calls.js';

export interface ErasureReceipt {
  id: string;
  task_id: string;
  status: 'queued';
}

/** Everything the service holds about a lead (GDPR Art. 15), as GET /api/leads/:id/export answers. */
export interface LeadExport {
  exported_at: string;
  lead: LeadView;
  consent: { unsubscribed: boolean; suppression: { reason: string; source: string; at: string } | null };
  email_claim: { held: boolean; claimed_at: string | null };
  crm: LeadView['crm'];
  history: LeadEvent[];
}

export interface DataRequestOptions {
  taskQueue: string;
  crmTaskQueue: string;
  writeTimeoutMs: number;
}

/**
 * The data subject's requests: erasure (GDPR Art. 17) as a durable workflow with a task to
 * follow, and the export (Art. 15). The erasure is accepted once Temporal holds it, also while
 * every worker is down; a second DELETE of a lead being erased answers the same task.
 */
export class LeadDataRequests {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly addresses: AddressBook,
    private readonly options: DataRequestOptions,
  ) {}

  async erase(lead: LeadView): Promise<ErasureReceipt> {
    const taskId = newTaskId(lead.id, 'erase', 'erasure');
    const input: LeadErasureInput = {
      leadId: lead.id,
      taskId,
      emailKeys: this.addresses.keys.all(lead.email),
      requestedAt: new Date().toISOString(),
      crmTaskQueue: this.options.crmTaskQueue,
    };
    await this.calls.within(Date.now() + this.options.writeTimeoutMs, async () => {
      try {
        await this.calls.client.workflow.start(leadErasure, {
          workflowId: erasureWorkflowId(lead.id),
          taskQueue: this.options.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `erase lead ${lead.id}`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      // The lead stops now, with no worker needed: writes and reads after the 202 find it gone
      // (the erasure's first step finds it stopped; its later steps remove what is left).
      await this.calls.client.workflow
        .getHandle(leadWorkflowId(lead.id))
        .terminate('erased on request (DELETE /api/leads/:id)')
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
    });
    return { id: lead.id, task_id: taskId, status: 'queued' };
  }

  /** Whether the lead was erased, or is being erased. */
  async erased(leadId: string, deadline: number): Promise<boolean> {
    try {
      await this.calls.within(deadline, () => this.calls.client.workflow.getHandle(erasureWorkflowId(leadId)).describe());
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** The erasure as a task: its memo (no worker needed), its query while no memo is published yet. */
  async erasureTask(leadId: string, taskId: string, deadline: number): Promise<TaskState> {
    try {
      const handle = this.calls.client.workflow.getHandle(erasureWorkflowId(leadId));
      const description = await this.calls.within(deadline, () => handle.describe());
      const task = description.memo?.task as TaskState | undefined;
      if (task?.task_id === taskId) return task;
      if (description.status.name === 'RUNNING') {
        return {
          task_id: taskId,
          lead_id: leadId,
          type: 'lead_erase',
          op: 'erase',
          status: 'queued',
          version: null,
          attempts: 0,
          last_error: null,
          created_at: description.startTime.toISOString(),
          updated_at: description.startTime.toISOString(),
          steps: [],
        };
      }
      const queried = await this.calls.within(deadline, () => handle.query(erasureTaskQuery)).catch(() => undefined);
      if (queried?.task_id === taskId) return queried;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    throw new TaskNotFoundError(taskId);
  }

  /** The export's parts beyond what the lead's reads give. */
  async addressState(lead: LeadView): Promise<Pick<LeadExport, 'consent' | 'email_claim'>> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    const [suppression, claim] = await this.calls.within(deadline, () =>
      Promise.all([this.addresses.suppression(lead.email), this.addresses.holder(lead.email)]),
    );
    return {
      consent: { unsubscribed: suppression !== null, suppression },
      email_claim: { held: claim?.leadId === lead.id, claimed_at: claim?.leadId === lead.id ? claim.claimedAt : null },
    };
  }
}
