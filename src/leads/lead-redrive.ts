import { createHash, randomBytes } from 'node:crypto';
import { defaultPayloadConverter, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { base32, leadWorkflowId } from '../domain/ids.js';
import type { LeadView } from '../domain/lead.js';
import { grpcCode, GRPC_ALREADY_EXISTS, GRPC_NOT_FOUND, isNotFound, isoTimestamp, quote } from '../temporal/protocol.js';
import { redriveSignal, redriveUpdate, type RedriveAnswer } from '../temporal/lead-messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import { LeadNotFoundError, NothingToRetryError, RedriveBusyError, RedriveJobNotFoundError } from './errors.js';
import { TemporalUnavailableError, type TemporalCalls } from '../temporal/calls.js';
import { listExecutions } from '../temporal/visibility.js';

// Failed work of leads, and re-driving it. A lead workflow never fails on a CRM or email
// failure: it records the failure (LeadCrmStatus = 'failed') and repairs itself on a timer.
// Re-driving wakes that repair now: one lead with the `redrive` update (or, when no worker
// answers it in time, the `redrive` signal), many with a Temporal batch operation sending the
// `redrive` signal to every lead a visibility query matches.

const GRPC_RESOURCE_EXHAUSTED = 8;

export interface RedriveOptions {
  namespace: string;
  /** Leads of this deployment: its task queue scopes every query (a shared server holds others). */
  taskQueue: string;
}

export interface FailedLeadFilter {
  email?: string | undefined;
  stage?: string | undefined;
  /**
   * The lead that holds `email` (its claim, src/identity), resolved by the lead service before
   * the query: null when no lead does, so the query matches nothing.
   */
  holder?: string | null | undefined;
}

/** `failed`: waiting for its repair (timer or re-drive); `retrying`: a CRM or email activity is being retried now. */
export type FailureState = 'failed' | 'retrying';

export interface RetryingActivity {
  activity: string;
  attempt: number;
  last_failure: string | null;
  next_attempt_at: string | null;
}

export interface FailedLead {
  lead: LeadView;
  state: FailureState;
  retrying: RetryingActivity | null;
}

/**
 * How a single re-drive was taken. `update`: the lead's workflow accepted it and answered what
 * it held. `signal`: no worker answered within half the deadline (all down, or the lead's
 * workflow task is stuck), so the re-drive was written to the lead's history as a signal,
 * which needs no worker: the lead repairs once a worker runs it. What it holds is unknown then.
 */
export type RedriveReceipt = ({ via: 'update' } & RedriveAnswer) | { via: 'signal'; crm: null; welcome: null };

export interface RedriveJob {
  job_id: string;
  state: 'running' | 'completed' | 'failed' | 'unknown';
  /** Workflows the batch operation matched, signalled, and could not signal (Temporal's counts). */
  total: number;
  completed: number;
  failed: number;
  started_at: string | null;
  finished_at: string | null;
}

// temporal.api.enums.v1.BatchOperationState, by number: plain Node has no named ESM export of the proto enums.
const JOB_STATE: Record<number, RedriveJob['state']> = { 1: 'running', 2: 'completed', 3: 'failed' };

/** The visibility query of leads whose last CRM sync failed: the Web UI's saved view is this query. */
export function failedLeadsQuery(taskQueue: string, filter: FailedLeadFilter = {}): string {
  const clauses = [
    `WorkflowType = ${quote(leadWorkflow.name)}`,
    `ExecutionStatus = 'Running'`,
    `TaskQueue = ${quote(taskQueue)}`,
    `${SA.crmStatus.name} = 'failed'`,
  ];
  // By the workflow id of the lead holding the email (the email itself is no search attribute:
  // it would sit in clear text in visibility; see search-attributes.ts).
  if (filter.email) clauses.push(`WorkflowId = ${quote(filter.holder ? leadWorkflowId(filter.holder) : 'lead-none')}`);
  if (filter.stage) clauses.push(`${SA.stage.name} = ${quote(filter.stage)}`);
  return clauses.join(' AND ');
}

export class LeadRedrive {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly options: RedriveOptions,
  ) {}

  /**
   * One page of leads whose CRM sync failed, each described to tell a lead waiting for its
   * repair from one whose activity is being retried now. With `state`, a page can hold fewer
   * items than `limit` (the state is known only after the describe); follow next_cursor.
   */
  async failed(
    filter: FailedLeadFilter & { state?: FailureState | undefined; limit: number; cursor?: string | undefined },
    deadline: number,
  ): Promise<{ items: FailedLead[]; next_cursor: string | null }> {
    const page = await listExecutions(
      this.calls,
      this.options.namespace,
      { query: failedLeadsQuery(this.options.taskQueue, filter), limit: filter.limit, cursor: filter.cursor },
      deadline,
      (execution) => execution,
    );
    const described = await Promise.all(page.items.map((execution) => this.failedLead(execution, deadline)));
    const items = described.filter((item): item is FailedLead => !!item && (!filter.state || item.state === filter.state));
    return { items, next_cursor: page.next_cursor };
  }

  /**
   * Re-drives one lead now: the `redrive` update, so the answer can say what the lead held and
   * refuse a lead with nothing to repair (409); when no worker answers it within half the
   * deadline, the `redrive` signal, so a re-drive asked for is durably recorded whether or not
   * a worker runs (202 either way). 404 unknown lead; 503 when Temporal cannot take the signal.
   */
  async retry(leadId: string, deadline: number): Promise<RedriveReceipt> {
    const handle = this.calls.client.workflow.getHandle(leadWorkflowId(leadId));
    const updateDeadline = Date.now() + Math.floor((deadline - Date.now()) / 2);
    try {
      const answer = await this.calls.within(updateDeadline, () => handle.executeUpdate(redriveUpdate));
      return { via: 'update', ...answer };
    } catch (err) {
      if (isNotFound(err)) throw new LeadNotFoundError(leadId);
      if (err instanceof WorkflowUpdateFailedError) throw new NothingToRetryError(leadId, err.cause?.message ?? err.message);
      // No answer in time (WorkflowUpdateRPCTimeoutOrCancelledError, or the guard's 503), or
      // the update was not taken: the signal below does not wait for a worker. Should the
      // update still be delivered later, the lead repairs once: both only raise one flag.
    }
    try {
      await this.calls.within(deadline, () => handle.signal(redriveSignal));
    } catch (err) {
      if (isNotFound(err)) throw new LeadNotFoundError(leadId);
      if (err instanceof TemporalUnavailableError) throw err;
      throw new TemporalUnavailableError(`redrive signal: ${(err as Error).message}`);
    }
    return { via: 'signal', crm: null, welcome: null };
  }

  /**
   * Re-drives every failed lead the filter matches: a Temporal batch operation signalling
   * `redrive`. The job id is derived from the Idempotency-Key and the filter when a key is
   * given, so a repeated request finds its job instead of starting another; the signal itself
   * is idempotent (a lead with nothing to repair ignores it, CRM writes are keyed by version).
   */
  async retryMany(
    filter: FailedLeadFilter,
    idempotencyKey: string | undefined,
    deadline: number,
  ): Promise<{ job_id: string; matched: number; deduplicated: boolean }> {
    const query = failedLeadsQuery(this.options.taskQueue, filter);
    const jobId = idempotencyKey
      ? `redrive-${base32(createHash('sha256').update(`${idempotencyKey}\n${query}`).digest(), 20)}`
      : `redrive-${base32(randomBytes(13), 20)}`;
    const service = this.calls.client.workflowService;
    const { namespace } = this.options;
    return this.calls.within(deadline, async () => {
      // The server runs a bounded number of batch operations per namespace (1 on the dev
      // server) and answers RESOURCE_EXHAUSTED past it, which the SDK retries until the
      // deadline: look first, so a busy namespace is a prompt 409 instead of a 503 seconds later.
      const { operationInfo } = await service.listBatchOperations({ namespace, pageSize: 100 });
      const running = (operationInfo ?? []).filter((op) => JOB_STATE[op.state ?? 0] === 'running');
      if (running.some((op) => op.jobId === jobId)) {
        const job = await this.jobOf(jobId);
        return { job_id: jobId, matched: job.total, deduplicated: true };
      }
      if (running.length > 0) throw new RedriveBusyError(running[0]!.jobId ?? 'unknown');
      try {
        const { count } = await service.countWorkflowExecutions({ namespace, query });
        await service.startBatchOperation({
          namespace,
          jobId,
          visibilityQuery: query,
          reason: `re-drive failed leads (${query})`,
          signalOperation: { signal: redriveSignal.name, identity: 'automation-orchestrator-api' },
        });
        return { job_id: jobId, matched: Number(count ?? 0), deduplicated: false };
      } catch (err) {
        const code = grpcCode(err);
        if (code === GRPC_ALREADY_EXISTS) {
          const job = await this.jobOf(jobId);
          return { job_id: jobId, matched: job.total, deduplicated: true };
        }
        if (code === GRPC_RESOURCE_EXHAUSTED) throw new RedriveBusyError('unknown');
        throw err;
      }
    });
  }

  /** A bulk re-drive's progress, from Temporal's record of the batch operation. */
  job(jobId: string, deadline: number): Promise<RedriveJob> {
    return this.calls.within(deadline, () => this.jobOf(jobId));
  }

  private async jobOf(jobId: string): Promise<RedriveJob> {
    try {
      const job = await this.calls.client.workflowService.describeBatchOperation({ namespace: this.options.namespace, jobId });
      return {
        job_id: jobId,
        state: JOB_STATE[job.state ?? 0] ?? 'unknown',
        total: Number(job.totalOperationCount ?? 0),
        completed: Number(job.completeOperationCount ?? 0),
        failed: Number(job.failureOperationCount ?? 0),
        started_at: isoTimestamp(job.startTime),
        finished_at: isoTimestamp(job.closeTime),
      };
    } catch (err) {
      if (grpcCode(err) === GRPC_NOT_FOUND) throw new RedriveJobNotFoundError(jobId);
      throw err;
    }
  }

  private async failedLead(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo, deadline: number): Promise<FailedLead | undefined> {
    const memoLead = execution.memo?.fields?.lead;
    const workflowId = execution.execution?.workflowId;
    if (!memoLead || !workflowId) return undefined;
    const lead = defaultPayloadConverter.fromPayload<LeadView>(memoLead);
    let description;
    try {
      description = await this.calls.within(deadline, () => this.calls.client.workflow.getHandle(workflowId).describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    const pending = (description.raw.pendingActivities ?? []).find((a) => (a.attempt ?? 1) > 1);
    const retrying = pending
      ? {
          activity: pending.activityType?.name ?? 'unknown',
          attempt: pending.attempt ?? 0,
          last_failure: pending.lastFailure?.message ?? null,
          next_attempt_at: isoTimestamp(pending.nextAttemptScheduleTime),
        }
      : null;
    return { lead, state: retrying ? 'retrying' : 'failed', retrying };
  }
}
