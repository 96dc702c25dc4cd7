import { describe, expect, it } from 'vitest';
import proto, { type temporal } from '@temporalio/proto';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import { taskWaitsOf } from '../../tooling/temporal/workflow-task-waits.js';

const T = proto.temporal.api.enums.v1.EventType;
const at = (ms: number, eventType: temporal.api.enums.v1.EventType, attempt?: number) => ({
  eventTime: msNumberToTs(ms),
  eventType,
  ...(attempt === undefined ? {} : { workflowTaskScheduledEventAttributes: { attempt } }),
});

describe('taskWaitsOf', () => {
  it('measures each task from its scheduling to the start of the attempt that completed it', () => {
    const waits = taskWaitsOf([
      at(0, T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
      at(0, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1),
      at(40, T.EVENT_TYPE_WORKFLOW_TASK_STARTED),
      at(60, T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
      at(1000, T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
      at(1000, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1),
      at(1010, T.EVENT_TYPE_WORKFLOW_TASK_STARTED),
      at(11_010, T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
      // The attempts a dead worker held in between are not in the history; the 9th completed.
      at(700_000, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 9),
      at(700_005, T.EVENT_TYPE_WORKFLOW_TASK_STARTED),
      at(700_020, T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    ]);
    expect(waits).toEqual([
      { waitMs: 40, attempts: 1, completed: true },
      { waitMs: 699_005, attempts: 9, completed: true },
    ]);
  });

  it('counts a task still pending up to now', () => {
    const waits = taskWaitsOf([at(0, T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1), at(5, T.EVENT_TYPE_WORKFLOW_TASK_STARTED)], 90_000);
    expect(waits).toEqual([{ waitMs: 90_000, attempts: 1, completed: false }]);
  });
});
