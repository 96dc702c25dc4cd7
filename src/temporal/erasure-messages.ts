import { defineQuery } from '@temporalio/workflow';
import type { TaskState } from '../domain/task.js';

// The lead erasure's input and query, shared by the workflow and the API.

export interface LeadErasureInput {
  leadId: string;
  /** The task id the DELETE answered with. */
  taskId: string;
  /** The keys of the lead's email (email-key.ts), never the address itself. */
  emailKeys: string[];
  requestedAt: string;
  crmTaskQueue: string;
}

/** The erasure as a task (GET /api/tasks/:id); also in the workflow's memo as `task`. */
export const erasureTaskQuery = defineQuery<TaskState>('task');
