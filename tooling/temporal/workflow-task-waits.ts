import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';

// How long workflow tasks waited, read from histories: the figure issue #24 asks of every
// 10,000-lead chaos run (a task stalled for 12–17 minutes once). A wait runs from the moment
// a workflow task was first scheduled to the start of the attempt that completed it, so the
// attempts a dead worker held (transient, written only when one completes) count in full.

const EventType = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface TaskWait {
  /** From the first scheduling to the start of the completing attempt (or to `now` if none yet). */
  waitMs: number;
  /** The attempt that completed it (1 = first try). */
  attempts: number;
  completed: boolean;
}

/** Each workflow task of one history, first scheduling to completing start. */
export function taskWaitsOf(events: readonly HistoryEvent[], now = Date.now()): TaskWait[] {
  const waits: TaskWait[] = [];
  let open: { since: number; attempts: number; startedAt?: number } | undefined;
  for (const event of events) {
    const at = tsToMs(event.eventTime);
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: {
        const attempt = event.workflowTaskScheduledEventAttributes?.attempt ?? 1;
        // A retry after a timeout or failure keeps the chain; anything else opens one.
        if (open) open.attempts = Math.max(open.attempts, attempt);
        else open = { since: at, attempts: attempt };
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        if (open) open.startedAt = at;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        if (open) waits.push({ waitMs: (open.startedAt ?? at) - open.since, attempts: open.attempts, completed: true });
        open = undefined;
        break;
      default:
    }
  }
  if (open) waits.push({ waitMs: now - open.since, attempts: open.attempts, completed: false });
  return waits;
}

export interface TaskWaitSummary {
  histories: number;
  tasks: number;
  longest?: TaskWait & { workflowId: string; runId: string };
  /** Tasks that waited over a minute. */
  overMinute: number;
  maxAttempts: number;
}

/**
 * Reads the history of every execution the visibility `query` lists (e.g. those started
 * since a run began), `concurrency` at a time, and sums up their workflow tasks' waits.
 */
export async function summarizeTaskWaits(client: Client, query: string, concurrency = 16): Promise<TaskWaitSummary> {
  const summary: TaskWaitSummary = { histories: 0, tasks: 0, overMinute: 0, maxAttempts: 0 };
  const executions: Array<{ workflowId: string; runId: string }> = [];
  for await (const e of client.workflow.list({ query })) executions.push({ workflowId: e.workflowId, runId: e.runId });
  let next = 0;
  const reader = async () => {
    while (next < executions.length) {
      const { workflowId, runId } = executions[next++]!;
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      summary.histories++;
      for (const wait of taskWaitsOf(history.events ?? [])) {
        summary.tasks++;
        if (wait.waitMs > 60_000) summary.overMinute++;
        summary.maxAttempts = Math.max(summary.maxAttempts, wait.attempts);
        if (!summary.longest || wait.waitMs > summary.longest.waitMs) summary.longest = { ...wait, workflowId, runId };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, executions.length) }, reader));
  return summary;
}
