import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { leadWorkflowId } from '../domain/ids.js';
import type { LeadChange, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';
import { leadChangeSignal, leadQuery, processedLeadQuery, taskQuery } from '../temporal/lead-messages.js';

/**
 * What automation activities need from a lead: its current state and a way to change
 * it. Both go through the lead's entity workflow, so an automation's change is ordered
 * with every other change to the lead and synced to the CRM like them.
 */
export interface LeadGateway {
  /** The lead as of its last processed version (see processedLeadQuery). */
  read(leadId: string): Promise<LeadView | null>;
  change(leadId: string, change: LeadChange): Promise<void>;
  task(leadId: string, taskId: string): Promise<TaskState | null>;
}

export function createLeadGateway(client: Client): LeadGateway {
  const handle = (leadId: string) => client.workflow.getHandle(leadWorkflowId(leadId));
  const orNull = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  };
  return {
    read: (leadId) =>
      orNull(async () => {
        try {
          return await handle(leadId).query(processedLeadQuery);
        } catch (err) {
          // A worker of an older build (rolling deploy) has no such query yet.
          if (err instanceof QueryNotRegisteredError) return handle(leadId).query(leadQuery);
          throw err;
        }
      }),
    task: (leadId, taskId) => orNull(() => handle(leadId).query(taskQuery, taskId)),
    async change(leadId, change) {
      await handle(leadId).signal(leadChangeSignal, change);
    },
  };
}
