import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

// The workflow-task stall of issue #24 (tasks "scheduled" for 12–17 minutes after worker
// kills, with a worker idle and polling), reproduced without a worker: a workflow task is
// polled and dropped, as a worker killed mid-task drops it, again and again. From its fourth
// attempt on, the Temporal server adds an exponential backoff (5 s, 10 s, 20 s, … up to the
// dynamic config `history.workflowTaskRetryMaxInterval`, 10 minutes by default) to the
// attempt's start-to-close timeout. An attempt taken by a worker that then dies is given back
// only when that timeout runs out, so a lead whose task was out during a few kills waits
// minutes for the next one while the new worker polls an empty queue. Attempts after the
// first are transient (not in the history until one completes), which is why the history
// showed one long "scheduled" wait.

export interface DroppedAttempt {
  attempt: number;
  /** Time since the previous attempt reached the poller (0 for the first). */
  gapMs: number;
}

/**
 * Starts a workflow no worker runs (task timeout `taskTimeoutMs`), then polls its workflow
 * task `attempts` times on a private task queue, answering none: each attempt comes back
 * when the previous one's start-to-close timeout ran out. Returns when each attempt arrived.
 */
export async function dropWorkflowTaskAttempts(
  address: string,
  options: { namespace?: string; attempts: number; taskTimeoutMs?: number; onAttempt?: (a: DroppedAttempt) => void },
): Promise<DroppedAttempt[]> {
  const namespace = options.namespace ?? 'default';
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const taskQueue = `task-retry-probe-${randomUUID()}`;
    await client.workflow.start('droppedByEveryWorker', {
      taskQueue,
      workflowId: taskQueue,
      workflowTaskTimeout: options.taskTimeoutMs ?? 1000,
    });
    const seen: DroppedAttempt[] = [];
    let last: number | undefined;
    while (seen.length < options.attempts) {
      // A long poll: the server answers within a minute, with a task or empty.
      const task = await connection.withDeadline(Date.now() + 70_000, () =>
        connection.workflowService.pollWorkflowTaskQueue({
          namespace,
          taskQueue: { name: taskQueue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          identity: 'task-retry-probe',
        }),
      );
      if (!task.taskToken?.length) continue; // the long poll ended empty; poll again
      const now = Date.now();
      const dropped = { attempt: task.attempt ?? 0, gapMs: last === undefined ? 0 : now - last };
      last = now;
      seen.push(dropped);
      options.onAttempt?.(dropped);
    }
    await client.workflow.getHandle(taskQueue).terminate('probe done');
    return seen;
  } finally {
    await connection.close();
  }
}
