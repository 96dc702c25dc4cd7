import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import type { LeadChange, LeadFields } from '../domain/lead.js';
import type { ReadBase, ReadMemo, RetryingStep, TailEvent } from '../domain/lead-read-model.js';
import { ACTIVITY_OF_STEP, stepOfActivity } from '../domain/task.js';
import { leadView } from '../domain/lead-view.js';
import { leadChangeSignal, type LeadWorkflowInput } from '../temporal/lead-messages.js';
import { decodePayloadsInPlace } from '../temporal/payload-codec.js';
import { decodePayload, eventTime } from './history.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What a read folds: the base, the events after it (oldest first), retries in progress. */
export interface TailRead {
  base: ReadBase;
  tail: TailEvent[];
  retrying: RetryingStep[];
  /**
   * False when a workflow task was running at the read (and did not end within the read's
   * settle time): Temporal holds signals that arrive during a running workflow task out of
   * the history until it ends, so an acknowledged change may be missing from this read.
   */
  settled: boolean;
}

export type Run = <T>(fn: () => Promise<T>) => Promise<T>;

const PAGE_SIZE = 64;
/** The first pause before a read looks again at a running workflow task (most end within 10-30 ms); it grows to 25 ms. */
const SETTLE_POLL_MS = 3;
const MAX_PAGES = 20;
const { PENDING_WORKFLOW_TASK_STATE_STARTED } = proto.temporal.api.enums.v1.PendingWorkflowTaskState;
const { WORKFLOW_EXECUTION_STATUS_RUNNING, WORKFLOW_EXECUTION_STATUS_TERMINATED } = proto.temporal.api.enums.v1.WorkflowExecutionStatus;

/**
 * Reads a lead the way its workflow would answer, from Temporal's own records and without a
 * worker: a describe and the newest page of the history, asked together, give the last memo
 * the workflow published and every event since (domain/lead-read-model.ts folds them). Two
 * cheap calls to the frontend and history services instead of a query that waits for a
 * worker. Returns undefined when the lead's run predates the read memo (generation < 3), or
 * its base lies further back than the read is allowed to page: the caller asks the workflow.
 */
export class LeadTailReader {
  constructor(
    private readonly client: Client,
    private readonly namespace: string,
  ) {}

  async read(workflowId: string, run: Run, settleBy: number): Promise<TailRead | undefined> {
    const service = this.client.workflowService;
    const execution = { workflowId };
    const describe = () => run(() => service.describeWorkflowExecution({ namespace: this.namespace, execution }));
    for (;;) {
      const [description, first] = await Promise.all([
        describe(),
        run(() => service.getWorkflowExecutionHistoryReverse({ namespace: this.namespace, execution, maximumPageSize: PAGE_SIZE })),
      ]);
      const info = description.workflowExecutionInfo;
      // A lead's workflow is terminated only by its erasure (DELETE /api/leads/:id), at once:
      // from then on the lead is gone for reads too, before its executions are deleted.
      if (info?.status === WORKFLOW_EXECUTION_STATUS_TERMINATED) throw new WorkflowNotFoundError('the lead was erased', workflowId, undefined);
      if (info?.status !== WORKFLOW_EXECUTION_STATUS_RUNNING) return undefined;
      const events = first.history?.events ?? [];
      // Both calls saw the same history (no event added between them), and no workflow task
      // was running, so no acknowledged signal was being held back.
      const settled = !taskRunning(description) && Number(events[0]?.eventId ?? -1) === Number(info.historyLength ?? -2);
      if (!settled && Date.now() + SETTLE_POLL_MS < settleBy) {
        // Watch the running workflow task with describes alone (one cheap call each), then read again.
        let pause = SETTLE_POLL_MS;
        for (let d = description; taskRunning(d) && Date.now() + pause < settleBy; d = await describe()) {
          await new Promise((resolve) => setTimeout(resolve, pause));
          pause = Math.min(Math.ceil(pause * 1.5), 25);
        }
        continue;
      }
      await this.decoded(events);
      const found = await baseAndTail(this.olderEvents(workflowId, events, first.nextPageToken, run));
      if (!found) return undefined;
      // Pending activities' last failures, when encrypted (failure-converter.ts).
      await decodePayloadsInPlace(this.client.options.loadedDataConverter.payloadCodecs, description.pendingActivities ?? []);
      return { ...found, retrying: retryingSteps(description.pendingActivities ?? []), settled };
    }
  }

  /** The run's events from newest to oldest, paging on demand. */
  private async *olderEvents(workflowId: string, firstPage: HistoryEvent[], token: Uint8Array | null | undefined, run: Run) {
    yield* firstPage;
    for (let page = 1; token && token.length > 0 && page < MAX_PAGES; page++) {
      const pageToken = token;
      const next = await run(() =>
        this.client.workflowService.getWorkflowExecutionHistoryReverse({
          namespace: this.namespace,
          execution: { workflowId },
          maximumPageSize: PAGE_SIZE,
          nextPageToken: pageToken,
        }),
      );
      yield* await this.decoded(next.history?.events ?? []);
      token = next.nextPageToken;
    }
  }

  /** Encrypted payloads (TEMPORAL_CODEC_KEYS) decrypted in place, for the default converter's reads. */
  private decoded(events: HistoryEvent[]): Promise<HistoryEvent[]> {
    return decodePayloadsInPlace(this.client.options.loadedDataConverter.payloadCodecs, events);
  }
}

/**
 * Walks back from the newest event to the base (the last read memo, or the run's start),
 * keeping the events after it; then, for a memo, further back to the signals of the changes
 * it lists as accepted but not yet applied. Undefined when no base is within reach.
 */
export async function baseAndTail(newestFirst: AsyncIterator<HistoryEvent>): Promise<{ base: ReadBase; tail: TailEvent[] } | undefined> {
  const after: HistoryEvent[] = [];
  let memo: ReadMemo | undefined;
  for (let next = await newestFirst.next(); !next.done; next = await newestFirst.next()) {
    const event = next.value;
    const fields = event.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields;
    if (fields?.lead) {
      if (!fields.queued) return undefined; // a memo of an older generation: no read model
      memo = {
        lead: decodePayload(fields.lead)!,
        tasks: decodePayload(fields.tasks) ?? [],
        batch: decodePayload(fields.batch) ?? [],
        queued: decodePayload(fields.queued) ?? [],
      };
      break;
    }
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = decodePayload<LeadWorkflowInput>(started.input?.payloads?.[0]);
      const base = input && baseOfRun(input);
      return base && { base, tail: tailEvents(after.reverse()) };
    }
    after.push(event);
  }
  if (!memo) return undefined; // paged as far as a read may without finding a base

  // Changes accepted before the memo but applied after it: their payloads are further back.
  const wanted = new Set(memo.queued);
  const found = new Map<string, LeadChange>();
  for (let next = wanted.size > 0 ? await newestFirst.next() : undefined; next && !next.done; next = await newestFirst.next()) {
    const change = signalledChange(next.value);
    if (change && wanted.has(change.task_id)) found.set(change.task_id, change);
    const started = next.value.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = decodePayload<LeadWorkflowInput>(started.input?.payloads?.[0]);
      for (const c of [...(input?.initial ? [input.initial] : []), ...(input?.carried?.pending ?? [])]) {
        if (wanted.has(c.task_id)) found.set(c.task_id, c);
      }
    }
    if (found.size === wanted.size || started) break;
  }
  if (found.size < wanted.size) return undefined;
  const base: ReadBase = {
    lead: memo.lead,
    tasks: memo.batch,
    recent: memo.tasks,
    pending: memo.queued.map((id) => found.get(id)!),
  };
  return { base, tail: tailEvents(after.reverse()) };
}

function baseOfRun(input: LeadWorkflowInput): ReadBase | undefined {
  const carried = input.carried;
  if (carried) {
    return {
      lead: leadView(input.leadId, carried.fields, carried),
      tasks: carried.tasks,
      recent: [],
      pending: carried.pending,
    };
  }
  // A lead started by signalWithStart (generation 5) has no initial change: its first change is
  // the first signal, which the tail brings.
  return { lead: null, tasks: [], recent: [], pending: input.initial ? [input.initial] : [] };
}

/** The events a fold needs, oldest first. */
function tailEvents(events: HistoryEvent[]): TailEvent[] {
  const out: TailEvent[] = [];
  const scheduled = new Map<string, 'crm_update' | 'email_send'>();
  for (const event of events) {
    const at = eventTime(event);
    const change = signalledChange(event);
    if (change) {
      out.push({ kind: 'change', at, change });
      continue;
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker) {
      const meta = decodePayload<{ activity_type?: string }>(marker.details?.data?.payloads?.[0]);
      if (meta?.activity_type !== ACTIVITY_OF_STEP.lead_process) continue;
      const result = decodePayload<{ fields: LeadFields; score: number; attempt?: number }>(marker.details?.result?.payloads?.[0]);
      const error = marker.failure ? (marker.failure.cause?.message ?? marker.failure.message ?? 'failed') : undefined;
      out.push({ kind: 'batch_started', at, ...(result && { result }), ...(error && { error }) });
      continue;
    }
    const scheduledAttrs = event.activityTaskScheduledEventAttributes;
    const step = stepOfActivity(scheduledAttrs?.activityType?.name);
    if (scheduledAttrs && (step === 'crm_update' || step === 'email_send')) {
      scheduled.set(String(event.eventId), step);
      out.push({ kind: 'activity', at, step, outcome: 'scheduled' });
      continue;
    }
    const ended =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    const endedStep = ended && scheduled.get(String(ended.scheduledEventId));
    if (!ended || !endedStep) continue;
    if (event.activityTaskCompletedEventAttributes) {
      out.push({ kind: 'activity', at, step: endedStep, outcome: 'completed' });
    } else {
      const failure = (ended as { failure?: temporal.api.failure.v1.IFailure | null }).failure;
      out.push({ kind: 'activity', at, step: endedStep, outcome: 'failed', error: failure?.cause?.message ?? failure?.message ?? 'failed' });
    }
  }
  return out;
}

function signalledChange(event: HistoryEvent): LeadChange | undefined {
  const attrs = event.workflowExecutionSignaledEventAttributes;
  if (attrs?.signalName !== leadChangeSignal.name) return undefined;
  return decodePayload<LeadChange>(attrs.input?.payloads?.[0]);
}

function taskRunning(description: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse): boolean {
  return description.pendingWorkflowTask?.state === PENDING_WORKFLOW_TASK_STATE_STARTED;
}

function retryingSteps(pending: temporal.api.workflow.v1.IPendingActivityInfo[]): RetryingStep[] {
  return pending.flatMap((activity) => {
    const step = stepOfActivity(activity.activityType?.name);
    return step ? [{ step, attempt: activity.attempt ?? 1, lastError: activity.lastFailure?.message ?? null }] : [];
  });
}

