import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  defaultPayloadConverter,
  isGrpcServiceError,
} from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { applyChange, type ChangeOp, type LeadChange, type LeadInput, type LeadPatch, type LeadView } from '../domain/lead.js';
import { hashBody, idempotencyRecordId, issuedTaskOp, leadIdForEmail, leadIdOfTask, leadWorkflowId, newTaskId } from '../domain/ids.js';
import { ACTIVITY_OF_STEP, queuedTask, type TaskState, type TaskStatus } from '../domain/task.js';
import { foldLead, type LeadReadModel } from '../domain/lead-read-model.js';
import { LEAD_WORKFLOW_GENERATION, leadChangeSignal, leadQuery, taskQuery } from '../temporal/lead-messages.js';
import type { LeadWorkflowInput, LeadWorkflowSettings } from '../workflows/lead-workflow.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { IdempotencyConflictError, InvalidCursorError, LeadNotFoundError, TaskNotFoundError, TemporalUnavailableError } from './errors.js';
import { QueryBreaker } from './query-breaker.js';
import { acceptedChanges, leadEventsFromHistory, type LeadEvent } from './history.js';
import { LeadTailReader } from './lead-tail.js';

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
 * Where a read's answer came from: the lead's memo and events since (`events`), the running
 * workflow (`workflow`), or its history when neither could see every change (`history`).
 */
export type ReadSource = 'events' | 'workflow' | 'history';

export interface WriteReceipt {
  id: string;
  task_id: string;
  status: 'queued';
}

export interface ListFilter {
  email?: string | undefined;
  stage?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

const MAX_HISTORY_RUNS = 50;
/** How long past its deadline a call may take to fail on its own before the guard gives up on it. */
const GUARD_GRACE_MS = 250;

/**
 * Every lead operation the API offers, expressed as Temporal calls. Holds no lead state:
 * any API process can serve any request.
 */
export class LeadService {
  /** Whether reads ask the workflow or go straight to history (no worker answered recently). */
  private readonly queries: QueryBreaker;
  /** Temporal calls still open, including those a request stopped waiting for at its deadline. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly tail: LeadTailReader;

  constructor(
    private readonly client: Client,
    private readonly options: LeadServiceOptions,
  ) {
    this.queries = new QueryBreaker(Math.min(5000, options.queryTimeoutMs * 2));
    this.tail = new LeadTailReader(client, options.namespace);
  }

  async create(fields: LeadInput, idempotencyKey?: string): Promise<WriteReceipt & { deduplicated: boolean }> {
    const deadline = this.writeDeadline();
    const id = leadIdForEmail(fields.email);
    const taskId = newTaskId(id, 'create', idempotencyKey);
    if (idempotencyKey) await this.claimIdempotencyKey(idempotencyKey, 'POST /api/leads', fields, deadline);
    const change = this.change(taskId, 'create', fields);
    const workflowId = leadWorkflowId(id);
    const input: LeadWorkflowInput = { leadId: id, settings: this.options.settings, initial: change, generation: LEAD_WORKFLOW_GENERATION };
    return this.within(deadline, async () => {
      try {
        await this.client.workflow.start('leadWorkflow', {
          workflowId,
          taskQueue: this.options.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          memo: { created_task_id: taskId },
          typedSearchAttributes: [
            { key: SA.email, value: fields.email },
            { key: SA.stage, value: fields.stage ?? 'new' },
          ],
          staticSummary: `lead ${fields.email}`,
        });
        return { id, task_id: taskId, status: 'queued' as const, deduplicated: false };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      // The lead exists: this create is a duplicate by email and merges into it.
      const handle = this.client.workflow.getHandle(workflowId);
      await handle.signal(leadChangeSignal, change);
      let deduplicated = true;
      if (idempotencyKey) {
        // A retry of the request that created the lead must get the same answer it got.
        const description = await handle.describe();
        deduplicated = description.memo?.created_task_id !== taskId;
      }
      return { id, task_id: taskId, status: 'queued' as const, deduplicated };
    });
  }

  async update(id: string, op: Exclude<ChangeOp, 'create'>, fields: LeadInput | LeadPatch, idempotencyKey?: string): Promise<WriteReceipt> {
    const deadline = this.writeDeadline();
    const taskId = newTaskId(id, op, idempotencyKey);
    if (idempotencyKey) await this.claimIdempotencyKey(idempotencyKey, `${op} ${id}`, fields, deadline);
    const change = this.change(taskId, op, fields);
    return this.within(deadline, async () => {
      try {
        await this.client.workflow.getHandle(leadWorkflowId(id)).signal(leadChangeSignal, change);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(id);
        throw err;
      }
      return { id, task_id: taskId, status: 'queued' as const };
    });
  }

  async get(id: string): Promise<{ lead: LeadView; source: ReadSource }> {
    const deadline = this.readDeadline();
    const read = await this.readModel(id, deadline, () => new LeadNotFoundError(id));
    if (read) {
      if (!read.model.lead) throw new LeadNotFoundError(id);
      return { lead: read.model.lead, source: read.source };
    }
    const handle = this.client.workflow.getHandle(leadWorkflowId(id));
    const fromWorkflow = await this.tryQuery(deadline, () => handle.query(leadQuery), () => new LeadNotFoundError(id));
    if (fromWorkflow.answered) {
      if (!fromWorkflow.value) throw new LeadNotFoundError(id);
      return { lead: fromWorkflow.value, source: 'workflow' };
    }
    return { lead: await this.leadFromHistory(id, deadline), source: 'history' };
  }

  async task(taskId: string): Promise<{ task: TaskState; source: ReadSource }> {
    const leadId = leadIdOfTask(taskId);
    if (!leadId) throw new TaskNotFoundError(taskId);
    const deadline = this.readDeadline();
    const read = await this.readModel(leadId, deadline, () => new TaskNotFoundError(taskId));
    const known = read?.model.task(taskId);
    if (read && known && known !== 'summary') return { task: known, source: read.source };
    const op = issuedTaskOp(taskId);
    if (read && !known && read.source === 'history' && op) {
      // A workflow task was still running at the read: this id was handed out in a 202, so
      // its change is durable and held back by Temporal until that task ends (see TailRead).
      return { task: queuedTask(leadId, { task_id: taskId, op, received_at: '' }, false), source: 'history' };
    }
    // Known only by status, or older than the memo's recent tasks: the workflow has it all.
    const handle = this.client.workflow.getHandle(leadWorkflowId(leadId));
    const fromWorkflow = await this.tryQuery(deadline, () => handle.query(taskQuery, taskId), () => new TaskNotFoundError(taskId));
    if (fromWorkflow.answered) {
      const task = fromWorkflow.value;
      if (!task) throw new TaskNotFoundError(taskId);
      if (task.status === 'running') await this.addRetryState(leadId, task, deadline);
      return { task, source: 'workflow' };
    }
    return { task: await this.taskFromHistory(leadId, taskId, deadline), source: 'history' };
  }

  async list(filter: ListFilter): Promise<{ items: LeadView[]; next_cursor: string | null }> {
    const clauses = [`WorkflowType = 'leadWorkflow'`, `ExecutionStatus = 'Running'`];
    const pageToken = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    if (filter.email) clauses.push(`LeadEmail = ${quote(filter.email)}`);
    if (filter.stage) clauses.push(`LeadStage = ${quote(filter.stage)}`);
    const response = await this.within(this.readDeadline(), () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace: this.options.namespace,
        query: clauses.join(' AND '),
        pageSize: filter.limit,
        nextPageToken: pageToken,
      }),
    ).catch((err: unknown) => {
      // A well-formed but forged token: the server refuses it (INVALID_ARGUMENT or UNKNOWN).
      const code = grpcCode(err);
      if (pageToken && (code === GRPC_INVALID_ARGUMENT || code === GRPC_UNKNOWN)) throw new InvalidCursorError();
      throw err;
    });
    const items = (response.executions ?? []).map(leadFromVisibility).filter((l): l is LeadView => !!l);
    const token = response.nextPageToken;
    return { items, next_cursor: token && token.length > 0 ? Buffer.from(token).toString('base64url') : null };
  }

  async history(id: string): Promise<LeadEvent[]> {
    const deadline = this.readDeadline();
    const workflowId = leadWorkflowId(id);
    const events: LeadEvent[][] = [];
    let runId: string | undefined;
    for (let run = 0; run < MAX_HISTORY_RUNS; run++) {
      const history = await this.fetchRunHistory(workflowId, runId, () => new LeadNotFoundError(id), deadline);
      if (!history) break; // an older run past the retention period
      const decoded = leadEventsFromHistory(history);
      events.unshift(decoded.events);
      if (!decoded.previousRunId) break;
      runId = decoded.previousRunId;
    }
    return events.flat();
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
  ): Promise<{ model: LeadReadModel; source: ReadSource } | undefined> {
    const settleBy = Math.min(deadline, Date.now() + (this.options.settleMs ?? 1000));
    try {
      const read = await this.tail.read(leadWorkflowId(leadId), (fn) => this.within(deadline, fn), settleBy);
      if (!read) return undefined;
      return { model: foldLead(leadId, read.base, read.tail, read.retrying), source: read.settled ? 'events' : 'history' };
    } catch (err) {
      if (isNotFound(err)) throw notFound();
      throw err;
    }
  }

  /**
   * Resolves once every Temporal call this service started has settled. Call it before
   * closing the connection: the SDK's gRPC retry timer of an abandoned call would otherwise
   * fire on a closed channel and throw outside any promise. Bounded by the call deadlines.
   */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Temporal reachable and answering: used by GET /ready. */
  async ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.within(Date.now() + timeoutMs, () => this.client.workflowService.getSystemInfo({}));
      return true;
    } catch {
      return false;
    }
  }

  private change(taskId: string, op: ChangeOp, fields: LeadInput | LeadPatch): LeadChange {
    return { task_id: taskId, op, fields, received_at: new Date().toISOString() };
  }

  /**
   * An Idempotency-Key is claimed by starting a tiny workflow whose id derives from the key
   * and whose memo holds the body's hash: Temporal's id uniqueness makes the claim atomic
   * across API processes. The same key with the same body proceeds (the write itself is
   * deduplicated by its stable task id); with another body it is refused.
   */
  private async claimIdempotencyKey(key: string, scope: string, body: unknown, deadline: number): Promise<void> {
    const workflowId = idempotencyRecordId(`${scope}\n${key}`);
    const bodyHash = hashBody(body);
    await this.within(deadline, async () => {
      try {
        await this.client.workflow.start('idempotencyRecord', {
          workflowId,
          taskQueue: this.options.taskQueue,
          args: [],
          memo: { scope, body_hash: bodyHash },
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const description = await this.client.workflow.getHandle(workflowId).describe();
      if (description.memo?.body_hash !== bodyHash) throw new IdempotencyConflictError();
    });
  }

  /** One deadline for a whole write, however many Temporal calls it makes. */
  private writeDeadline(): number {
    return Date.now() + this.options.writeTimeoutMs;
  }

  /** One deadline for a whole read: the query, and the history fallback in what is left. */
  private readDeadline(): number {
    return Date.now() + (this.options.readTimeoutMs ?? this.options.queryTimeoutMs + this.options.writeTimeoutMs);
  }

  /**
   * Runs Temporal calls under an absolute deadline (epoch ms): gRPC fails each call that is
   * still open then (DEADLINE_EXCEEDED, a 503 in errors.ts), and a guard timer answers 503
   * itself should a call not fail in time on its own, so no request waits on Temporal past
   * its deadline, whether Temporal is down, unreachable, or accepting and never answering.
   */
  private within<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new TemporalUnavailableError('deadline passed before the call'));
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TemporalUnavailableError(`no answer within ${remaining} ms`)), remaining + GUARD_GRACE_MS);
    });
    const call = this.client.withDeadline(deadline, fn);
    // The guard may win the race; the call then fails later on its own deadline, unobserved
    // here but tracked, so that closing the connection can wait for it (see drain()).
    this.inflight.add(call);
    call.then(
      () => this.inflight.delete(call),
      () => this.inflight.delete(call),
    );
    return Promise.race([call, guard]).finally(() => clearTimeout(timer));
  }

  private async tryQuery<T>(
    deadline: number,
    query: () => Promise<T>,
    notFound: () => Error,
  ): Promise<{ answered: true; value: T } | { answered: false }> {
    const admission = this.queries.admit();
    if (admission === 'history') return { answered: false };
    try {
      const value = await this.within(Math.min(deadline, Date.now() + this.options.queryTimeoutMs), query);
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

  private async fetchRunHistory(
    workflowId: string,
    runId: string | undefined,
    notFound: () => Error,
    deadline: number,
  ): Promise<temporal.api.history.v1.IHistoryEvent[] | undefined> {
    try {
      const history = await this.within(deadline, () => this.client.workflow.getHandle(workflowId, runId).fetchHistory());
      return history.events ?? [];
    } catch (err) {
      if (isNotFound(err)) {
        if (runId) return undefined;
        throw notFound();
      }
      throw err;
    }
  }

  private async leadFromHistory(id: string, deadline: number): Promise<LeadView> {
    const events = await this.fetchRunHistory(leadWorkflowId(id), undefined, () => new LeadNotFoundError(id), deadline);
    const { input, changes } = acceptedChanges(events ?? []);
    const carried = input?.carried;
    let fields = carried?.fields;
    let version = carried?.version ?? 0;
    let createdAt = carried?.createdAt ?? '';
    let updatedAt = carried?.updatedAt ?? '';
    const seen = new Set(carried?.tasks.map((t) => t.task_id));
    for (const change of changes) {
      if (seen.has(change.task_id)) continue;
      seen.add(change.task_id);
      fields = applyChange(fields, change);
      version += 1;
      createdAt ||= change.received_at;
      updatedAt = change.received_at;
    }
    if (!fields) throw new LeadNotFoundError(id);
    const processed = await this.memoLead(id, deadline);
    return {
      ...fields,
      id,
      version,
      score: processed?.score ?? carried?.score ?? 0,
      stage: fields.stage ?? 'new',
      crm: processed?.crm ?? carried?.crm ?? { status: 'pending', synced_version: 0 },
      created_at: createdAt,
      updated_at: updatedAt,
    };
  }

  private async memoLead(id: string, deadline: number): Promise<LeadView | undefined> {
    const description = await this.within(deadline, () => this.client.workflow.getHandle(leadWorkflowId(id)).describe());
    return description.memo?.lead as LeadView | undefined;
  }

  private async taskFromHistory(leadId: string, taskId: string, deadline: number): Promise<TaskState> {
    const handle = this.client.workflow.getHandle(leadWorkflowId(leadId));
    const description = await this.within(deadline, () => handle.describe()).catch((err: unknown) => {
      throw err instanceof WorkflowNotFoundError ? new TaskNotFoundError(taskId) : err;
    });
    const recent = (description.memo?.tasks ?? []) as Array<[string, TaskStatus, number | null]>;
    const known = recent.find(([id]) => id === taskId);
    const events = await this.fetchRunHistory(leadWorkflowId(leadId), undefined, () => new TaskNotFoundError(taskId), deadline);
    const change = acceptedChanges(events ?? []).changes.find((c) => c.task_id === taskId);
    if (!known && !change && !(await this.mayBeBuffered(leadId, taskId, deadline))) throw new TaskNotFoundError(taskId);
    const op = change?.op ?? issuedTaskOp(taskId) ?? 'replace';
    const task: TaskState = {
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
    return task;
  }

  /**
   * Whether an acknowledged change can be missing from the history just read. Temporal keeps
   * signals that arrive while a workflow task is running (say, on a worker that was just
   * killed) out of the history until that task completes or times out, up to the workflow
   * task timeout later. So a task id that this API issued (its check holds: it was handed out
   * in a 202, so its change is durable) is not denied while the lead has a workflow task
   * outstanding; it reads as `queued`. Any other id not found is unknown.
   */
  private async mayBeBuffered(leadId: string, taskId: string, deadline: number): Promise<boolean> {
    if (!issuedTaskOp(taskId)) return false;
    // Described again, after the history read: a signal that came in between and was held
    // back by a workflow task started meanwhile shows here, not in the earlier description.
    const description = await this.within(deadline, () => this.client.workflow.getHandle(leadWorkflowId(leadId)).describe());
    return !!description.raw.pendingWorkflowTask;
  }

  /** While an activity retries, the workflow cannot see it: Temporal's pending-activity state can. */
  private async addRetryState(leadId: string, task: TaskState, deadline: number): Promise<void> {
    // Best effort within the read's deadline: without it the task is still answered.
    const description = await this.within(deadline, () => this.client.workflow.getHandle(leadWorkflowId(leadId)).describe()).catch(
      () => undefined,
    );
    const running = task.steps.find((s) => s.status === 'running');
    const activityType = running && ACTIVITY_OF_STEP[running.name];
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
}

function leadFromVisibility(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo): LeadView | undefined {
  const fields = execution.memo?.fields ?? {};
  const memoLead = fields.lead ? defaultPayloadConverter.fromPayload<LeadView>(fields.lead) : undefined;
  if (memoLead) return memoLead;
  // Accepted but not yet processed by a worker: what visibility knows is the start state.
  const attrs = execution.searchAttributes?.indexedFields ?? {};
  const email = attrs.LeadEmail ? defaultPayloadConverter.fromPayload<string>(attrs.LeadEmail) : undefined;
  const id = execution.execution?.workflowId?.replace(/^lead-/, '');
  if (!email || !id) return undefined;
  const startedAt = execution.startTime ? new Date(Number(execution.startTime.seconds?.toString() ?? 0) * 1000).toISOString() : '';
  return {
    id,
    email,
    version: 0,
    score: 0,
    stage: (attrs.LeadStage ? defaultPayloadConverter.fromPayload<LeadView['stage']>(attrs.LeadStage) : 'new') ?? 'new',
    crm: { status: 'pending', synced_version: 0 },
    created_at: startedAt,
    updated_at: startedAt,
  };
}

const GRPC_UNKNOWN = 2;
const GRPC_INVALID_ARGUMENT = 3;

/**
 * Cursors are Temporal visibility page tokens, which are JSON documents for both the SQL
 * and Elasticsearch stores; anything else is refused here instead of costing a round trip.
 */
function decodeCursor(cursor: string): Buffer {
  const token = Buffer.from(cursor, 'base64url');
  try {
    const parsed: unknown = JSON.parse(token.toString('utf8'));
    // A JSON object: an array, string or number makes the server fail the call in a way
    // the client retries until the deadline (a 503 after seconds, found by fuzzing).
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return token;
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}
const GRPC_NOT_FOUND = 5;

function grpcCode(err: unknown): number | undefined {
  for (const e of [err, (err as { cause?: unknown } | undefined)?.cause]) if (isGrpcServiceError(e)) return e.code;
  return undefined;
}

/** fetchHistory reports an unknown workflow as a gRPC NOT_FOUND, not as WorkflowNotFoundError. */
function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || grpcCode(err) === GRPC_NOT_FOUND;
}

/** A string literal of Temporal's visibility query language. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
