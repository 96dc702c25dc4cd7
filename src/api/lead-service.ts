import type { Client } from '@temporalio/client';
import type { ChangeOp, LeadInput, LeadPatch, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';
import type { LeadWorkflowSettings } from '../temporal/lead-messages.js';
import type { LeadEvent } from './history.js';
import { listLeads, type ListFilter } from './lead-list.js';
import { LeadRedrive, type FailedLead, type FailedLeadFilter, type FailureState, type RedriveJob, type RedriveReceipt } from './lead-redrive.js';
import { LeadReads, type ReadSource } from './lead-reads.js';
import type { BatchItem } from './lead-batch.js';
import { LeadWrites, type BatchOptions, type CreateReceipt, type WriteReceipt } from './lead-writes.js';
import { TemporalCalls } from './temporal-calls.js';

export type { ListFilter } from './lead-list.js';
export type { ReadSource } from './lead-reads.js';
export type { FailedLead, FailedLeadFilter, FailureState, RedriveJob, RedriveReceipt } from './lead-redrive.js';
export type { BatchOptions, CreateReceipt, WriteReceipt } from './lead-writes.js';

export interface LeadServiceOptions {
  namespace: string;
  taskQueue: string;
  settings: LeadWorkflowSettings;
  /** How long a read waits for a worker to answer a query before falling back to history. */
  queryTimeoutMs: number;
  /** Upper bound on a write's round trips to Temporal; past it the API answers 503. */
  writeTimeoutMs: number;
  /**
   * Upper bound on a whole read (query, then history and describe when no worker answers);
   * past it the API answers 503. Default: queryTimeoutMs + writeTimeoutMs.
   */
  readTimeoutMs?: number;
  /**
   * How long a read waits for a running workflow task to end before answering without the
   * changes Temporal may be holding back until then (see lead-tail.ts). Default 1000 ms.
   */
  settleMs?: number;
}

/**
 * Every lead operation the API offers, as the routes see them: writes (lead-writes.ts),
 * reads (lead-reads.ts) and listing (lead-list.ts), over one set of deadline-bound Temporal
 * calls. Holds no lead state: any API process can serve any request.
 */
export class LeadService {
  private readonly calls: TemporalCalls;
  private readonly writes: LeadWrites;
  private readonly reads: LeadReads;
  private readonly redrive: LeadRedrive;

  /** Pass the TemporalCalls other services use too, so drain() waits for theirs as well. */
  constructor(
    client: Client | TemporalCalls,
    private readonly options: LeadServiceOptions,
  ) {
    this.calls = client instanceof TemporalCalls ? client : new TemporalCalls(client);
    this.writes = new LeadWrites(this.calls, options);
    const readTimeoutMs = options.readTimeoutMs ?? options.queryTimeoutMs + options.writeTimeoutMs;
    this.reads = new LeadReads(this.calls, { ...options, readTimeoutMs });
    this.redrive = new LeadRedrive(this.calls, options);
  }

  create(fields: LeadInput, idempotencyKey?: string): Promise<WriteReceipt & { deduplicated: boolean }> {
    return this.writes.create(fields, idempotencyKey);
  }

  /** The valid leads of a batch (lead-batch.ts), in its order; one Idempotency-Key claim for the whole body. */
  createMany(items: readonly BatchItem[], options?: BatchOptions): Promise<CreateReceipt[]> {
    return this.writes.createMany(items, options);
  }

  update(id: string, op: Exclude<ChangeOp, 'create'>, fields: LeadInput | LeadPatch, idempotencyKey?: string): Promise<WriteReceipt> {
    return this.writes.update(id, op, fields, idempotencyKey);
  }

  get(id: string): Promise<{ lead: LeadView; source: ReadSource }> {
    return this.reads.get(id);
  }

  task(taskId: string): Promise<{ task: TaskState; source: ReadSource }> {
    return this.reads.task(taskId);
  }

  /** The same read as task(), its Temporal calls cancelled when `signal` aborts (a live stream whose client left). */
  taskUntil(taskId: string, signal: AbortSignal): Promise<{ task: TaskState; source: ReadSource }> {
    return this.calls.cancellable(signal, () => this.reads.task(taskId));
  }

  list(filter: ListFilter): Promise<{ items: LeadView[]; next_cursor: string | null }> {
    return listLeads(this.calls, { namespace: this.options.namespace, taskQueue: this.options.taskQueue }, filter, this.reads.deadline());
  }

  history(id: string): Promise<LeadEvent[]> {
    return this.reads.history(id);
  }

  /** Leads whose CRM sync failed, waiting for their repair or being retried now (lead-redrive.ts). */
  failed(
    filter: FailedLeadFilter & { state?: FailureState | undefined; limit: number; cursor?: string | undefined },
  ): Promise<{ items: FailedLead[]; next_cursor: string | null }> {
    return this.redrive.failed(filter, this.reads.deadline());
  }

  /** Re-drives one lead's failed CRM sync or welcome email now (the update, or the signal when no worker answers). */
  retry(id: string): Promise<RedriveReceipt> {
    return this.redrive.retry(id, this.writeDeadline());
  }

  /** Re-drives every failed lead the filter matches (a Temporal batch operation). */
  retryMany(filter: FailedLeadFilter, idempotencyKey?: string): Promise<{ job_id: string; matched: number; deduplicated: boolean }> {
    return this.redrive.retryMany(filter, idempotencyKey, this.writeDeadline());
  }

  redriveJob(jobId: string): Promise<RedriveJob> {
    return this.redrive.job(jobId, this.reads.deadline());
  }

  private writeDeadline(): number {
    return Date.now() + this.options.writeTimeoutMs;
  }

  /** Resolves once every Temporal call started here has settled (see TemporalCalls.drain). */
  drain(): Promise<void> {
    return this.calls.drain();
  }

  /** Temporal reachable and answering: used by GET /ready. */
  ping(timeoutMs: number): Promise<boolean> {
    return this.calls.ping(timeoutMs);
  }
}
