import { WorkflowNotFoundError } from '@temporalio/client';
import type { LeadView } from '../domain/lead.js';
import { issuedTaskOp, leadIdOfTask, leadWorkflowId } from '../domain/ids.js';
import { queuedTask, type TaskState } from '../domain/task.js';
import { foldLead, type LeadReadModel } from '../domain/lead-read-model.js';
import { leadQuery, taskQuery } from '../temporal/lead-messages.js';
import { isNotFound } from '../temporal/protocol.js';
import { LeadNotFoundError, TaskNotFoundError } from './errors.js';
import { addRetryState, leadFromHistory, taskFromHistory } from './history-fallback.js';
import { leadEventsFromHistory, type LeadEvent } from './history.js';
import { LeadTailReader } from './lead-tail.js';
import { QueryBreaker } from './query-breaker.js';
import type { TemporalCalls } from '../temporal/calls.js';

export interface LeadReadOptions {
  namespace: string;
  /** How long a read waits for a worker to answer a query before falling back to history. */
  queryTimeoutMs: number;
  /** Upper bound on a whole read (read model, query, history fallback); past it the API answers 503. */
  readTimeoutMs: number;
  /**
   * How long a read waits for a running workflow task to end before answering without the
   * changes Temporal may be holding back until then (see lead-tail.ts). Default 1000 ms.
   */
  settleMs?: number;
}

/**
 * Where a read's answer came from: the lead's memo and events since (`events`), the running
 * workflow (`workflow`), or its history when neither could see every change (`history`).
 */
export type ReadSource = 'events' | 'workflow' | 'history';

const MAX_HISTORY_RUNS = 50;

/**
 * Lead and task reads, first from the read model (the last memo and the events after it, no
 * worker needed), then by asking the workflow, then from history, all within one deadline.
 */
export class LeadReads {
  /** Whether reads ask the workflow or go straight to history (no worker answered recently). */
  private readonly queries: QueryBreaker;
  private readonly tail: LeadTailReader;

  constructor(
    private readonly calls: TemporalCalls,
    private readonly options: LeadReadOptions,
  ) {
    this.queries = new QueryBreaker(Math.min(5000, options.queryTimeoutMs * 2));
    this.tail = new LeadTailReader(calls.client, options.namespace);
  }

  async get(id: string): Promise<{ lead: LeadView; source: ReadSource }> {
    const deadline = this.deadline();
    const read = await this.readModel(id, deadline, () => new LeadNotFoundError(id));
    if (read) {
      if (!read.model.lead) throw new LeadNotFoundError(id);
      return { lead: read.model.lead, source: read.source };
    }
    const handle = this.calls.client.workflow.getHandle(leadWorkflowId(id));
    const fromWorkflow = await this.tryQuery(deadline, () => handle.query(leadQuery), () => new LeadNotFoundError(id));
    if (fromWorkflow.answered) {
      if (!fromWorkflow.value) throw new LeadNotFoundError(id);
      return { lead: fromWorkflow.value, source: 'workflow' };
    }
    return { lead: await leadFromHistory(this.calls, id, deadline), source: 'history' };
  }

  async task(taskId: string): Promise<{ task: TaskState; source: ReadSource }> {
    const leadId = leadIdOfTask(taskId);
    if (!leadId) throw new TaskNotFoundError(taskId);
    const deadline = this.deadline();
    const notFound = () => new TaskNotFoundError(taskId);
    // First without the settle wait: a task already in the lead's records is answered as they
    // stand. A running workflow task can hold back only changes acknowledged after this
    // task's own, and those are other tasks; this one's status is as of the last task that
    // ended, as any read's is. Under load, workflow tasks run back to back and the wait
    // would chase them for up to READ_SETTLE_MS.
    let read = await this.readModel(leadId, deadline, notFound, 0);
    let known = read?.model.task(taskId);
    if (read && known && known !== 'summary') return { task: known, source: 'events' };
    if (read?.source === 'history') {
      // Not in the records yet, and a workflow task is running: its change may be held back.
      read = await this.readModel(leadId, deadline, notFound);
      known = read?.model.task(taskId);
      if (read && known && known !== 'summary') return { task: known, source: read.source };
    }
    const op = issuedTaskOp(taskId);
    if (read && !known && read.source === 'history' && op && op !== 'erase') {
      // A workflow task was still running at the read: this id was handed out in a 202, so
      // its change is durable and held back by Temporal until that task ends (see TailRead).
      return { task: queuedTask(leadId, { task_id: taskId, op, received_at: '' }, false), source: 'history' };
    }
    // Known only by status, or older than the memo's recent tasks: the workflow has it all.
    const handle = this.calls.client.workflow.getHandle(leadWorkflowId(leadId));
    const fromWorkflow = await this.tryQuery(deadline, () => handle.query(taskQuery, taskId), () => new TaskNotFoundError(taskId));
    if (fromWorkflow.answered) {
      const task = fromWorkflow.value;
      if (!task) throw new TaskNotFoundError(taskId);
      if (task.status === 'running') await addRetryState(this.calls, leadId, task, deadline);
      return { task, source: 'workflow' };
    }
    return { task: await taskFromHistory(this.calls, leadId, taskId, deadline), source: 'history' };
  }

  /** The lead's change log, oldest first, across the runs it continued as new. */
  async history(id: string): Promise<LeadEvent[]> {
    const deadline = this.deadline();
    const workflowId = leadWorkflowId(id);
    const events: LeadEvent[][] = [];
    let runId: string | undefined;
    for (let run = 0; run < MAX_HISTORY_RUNS; run++) {
      const history = await this.calls.runHistory(workflowId, runId, () => new LeadNotFoundError(id), deadline);
      if (!history) break; // an older run past the retention period
      const decoded = leadEventsFromHistory(history);
      events.unshift(decoded.events);
      if (!decoded.previousRunId) break;
      runId = decoded.previousRunId;
    }
    return events.flat();
  }

  /** One deadline for a whole read: the read model or query, and the history fallback in what is left. */
  deadline(): number {
    return Date.now() + this.options.readTimeoutMs;
  }

  /**
   * The lead as its last published memo and the events since show it (see lead-tail.ts),
   * without a worker. Undefined when the lead's run has no read memo (an older generation):
   * the caller asks the workflow. Source `events` when the read saw every acknowledged
   * change; `history` when a workflow task was still running past the settle time, so a
   * change Temporal holds back until that task ends may be missing.
   */
  private async readModel(
    leadId: string,
    deadline: number,
    notFound: () => Error,
    settleMs = this.options.settleMs ?? 1000,
  ): Promise<{ model: LeadReadModel; source: ReadSource } | undefined> {
    const settleBy = Math.min(deadline, Date.now() + settleMs);
    try {
      const read = await this.tail.read(leadWorkflowId(leadId), (fn) => this.calls.within(deadline, fn), settleBy);
      if (!read) return undefined;
      return { model: foldLead(leadId, read.base, read.tail, read.retrying), source: read.settled ? 'events' : 'history' };
    } catch (err) {
      if (isNotFound(err)) throw notFound();
      throw err;
    }
  }

  private async tryQuery<T>(
    deadline: number,
    query: () => Promise<T>,
    notFound: () => Error,
  ): Promise<{ answered: true; value: T } | { answered: false }> {
    const admission = this.queries.admit();
    if (admission === 'history') return { answered: false };
    try {
      const value = await this.calls.within(Math.min(deadline, Date.now() + this.options.queryTimeoutMs), query);
      this.queries.answered(admission);
      return { answered: true, value };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        this.queries.released(admission);
        throw notFound();
      }
      // No worker answered in time (or it failed to): answer from history for a while
      // instead of making every read wait out the timeout.
      this.queries.unanswered(admission);
      return { answered: false };
    }
  }
}
