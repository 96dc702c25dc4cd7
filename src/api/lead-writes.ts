import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { ChangeOp, LeadChange, LeadInput, LeadPatch } from '../domain/lead.js';
import { leadIdForEmail, leadWorkflowId, newTaskId } from '../domain/ids.js';
import { LEAD_WORKFLOW_GENERATION, leadChangeSignal, type LeadWorkflowInput, type LeadWorkflowSettings } from '../temporal/lead-messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import { LeadNotFoundError } from './errors.js';
import { claimIdempotencyKey } from './idempotency.js';
import { BATCH_WRITE_CONCURRENCY, batchItemKey, inLeadOrder, type BatchItem } from './lead-batch.js';
import type { TemporalCalls } from './temporal-calls.js';

export interface LeadWriteOptions {
  taskQueue: string;
  settings: LeadWorkflowSettings;
  /** Upper bound on a write's round trips to Temporal; past it the API answers 503. */
  writeTimeoutMs: number;
}

export interface WriteReceipt {
  id: string;
  task_id: string;
  status: 'queued';
}

export type CreateReceipt = WriteReceipt & { deduplicated: boolean };

export interface BatchOptions {
  /** The request's Idempotency-Key and the body it is claimed for. */
  idempotency?: { key: string; body: unknown };
  /** How long the whole batch may take. Default: the write timeout. */
  budgetMs?: number;
}

/**
 * Lead writes as Temporal calls: a create starts the lead's entity workflow (or, for an
 * email already known, signals it); every other write signals it. Acknowledged once
 * Temporal has recorded it, so an accepted write survives any process that fails after.
 */
export class LeadWrites {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly options: LeadWriteOptions,
  ) {}

  async create(fields: LeadInput, idempotencyKey?: string): Promise<CreateReceipt> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    const id = leadIdForEmail(fields.email);
    const taskId = newTaskId(id, 'create', idempotencyKey);
    if (idempotencyKey) await this.claim({ key: idempotencyKey, scope: 'POST /api/leads', body: fields }, deadline);
    return this.createLead(id, taskId, fields, idempotencyKey !== undefined, deadline);
  }

  /**
   * The creates of POST /api/leads/batch, answered in the order of `items`. With a key, one
   * claim for the whole body; each item's task id derives from the key and the item's place
   * in the request, so a retried batch gets the same ids and the workflows ignore the changes
   * they already hold. Each Temporal call is bounded by the write timeout, as a single
   * write's is, and none runs past the batch's budget (500 creates can take longer than one
   * write timeout on a busy server).
   *
   * All or error: if any write fails (Temporal did not confirm it in time) the whole request
   * fails with that error, a 503, even though other items may have landed. A partial 202
   * would leave the client to retry item by item; a 503 makes it retry the batch, which with
   * its Idempotency-Key applies each lead exactly once.
   */
  async createMany(items: readonly BatchItem[], options: BatchOptions = {}): Promise<CreateReceipt[]> {
    const batchDeadline = Date.now() + (options.budgetMs ?? this.options.writeTimeoutMs);
    const deadline = () => Math.min(Date.now() + this.options.writeTimeoutMs, batchDeadline);
    const { idempotency } = options;
    if (idempotency) await this.claim({ key: idempotency.key, scope: 'POST /api/leads/batch', body: idempotency.body }, deadline());
    return inLeadOrder(
      items,
      (item) => leadIdForEmail(item.fields.email),
      BATCH_WRITE_CONCURRENCY,
      (item, id) => {
        const taskId = newTaskId(id, 'create', idempotency && batchItemKey(idempotency.key, item.index));
        return this.createLead(id, taskId, item.fields, idempotency !== undefined, deadline());
      },
    );
  }

  /** Starts the lead's workflow, or merges into the lead that has this email (a duplicate create). */
  private createLead(id: string, taskId: string, fields: LeadInput, keyed: boolean, deadline: number): Promise<CreateReceipt> {
    const change = newChange(taskId, 'create', fields);
    return this.calls.within(deadline, async () => {
      if (await this.startLead(id, change, fields)) return { id, task_id: taskId, status: 'queued' as const, deduplicated: false };
      // The lead exists: this create is a duplicate by email and merges into it.
      const handle = this.calls.client.workflow.getHandle(leadWorkflowId(id));
      await handle.signal(leadChangeSignal, change);
      let deduplicated = true;
      if (keyed) {
        // A retry of the request that created the lead must get the same answer it got.
        const description = await handle.describe();
        deduplicated = description.memo?.created_task_id !== taskId;
      }
      return { id, task_id: taskId, status: 'queued' as const, deduplicated };
    });
  }

  async update(id: string, op: Exclude<ChangeOp, 'create'>, fields: LeadInput | LeadPatch, idempotencyKey?: string): Promise<WriteReceipt> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    const taskId = newTaskId(id, op, idempotencyKey);
    if (idempotencyKey) await this.claim({ key: idempotencyKey, scope: `${op} ${id}`, body: fields }, deadline);
    const change = newChange(taskId, op, fields);
    return this.calls.within(deadline, async () => {
      try {
        await this.calls.client.workflow.getHandle(leadWorkflowId(id)).signal(leadChangeSignal, change);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(id);
        throw err;
      }
      return { id, task_id: taskId, status: 'queued' as const };
    });
  }

  /** Starts the lead's workflow with its first change; false when it already runs. */
  private async startLead(id: string, change: LeadChange, fields: LeadInput): Promise<boolean> {
    const input: LeadWorkflowInput = { leadId: id, settings: this.options.settings, initial: change, generation: LEAD_WORKFLOW_GENERATION };
    try {
      await this.calls.client.workflow.start(leadWorkflow, {
        workflowId: leadWorkflowId(id),
        taskQueue: this.options.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        // The email in the memo (a payload, encrypted with TEMPORAL_CODEC_KEYS), not in a search
        // attribute (never encrypted): listings show it until the workflow publishes the lead.
        memo: { created_task_id: change.task_id, email: fields.email },
        typedSearchAttributes: [{ key: SA.stage, value: fields.stage ?? 'new' }],
        staticSummary: `lead ${fields.email}`,
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  private claim(claim: Parameters<typeof claimIdempotencyKey>[2], deadline: number): Promise<void> {
    return claimIdempotencyKey(this.calls, this.options.taskQueue, claim, deadline);
  }
}

function newChange(taskId: string, op: ChangeOp, fields: LeadInput | LeadPatch): LeadChange {
  return { task_id: taskId, op, fields, received_at: new Date().toISOString() };
}
