import type { ChangeOp } from './lead.js';

// Task and step shapes. The old design's task types are kept as names so its clients
// and dashboards keep working: lead_process, crm_update, email_send, workflow_execute.

export const TASK_STATUSES = ['queued', 'running', 'retrying', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_TYPES = ['lead_process', 'crm_update', 'email_send', 'workflow_execute'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export type StepName = 'lead_process' | 'crm_update' | 'email_send';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface TaskStep {
  name: StepName;
  status: StepStatus;
  attempts: number;
  last_error: string | null;
  started_at: string | null;
  finished_at: string | null;
  note?: string;
}

export interface TaskState {
  task_id: string;
  lead_id: string;
  type: TaskType;
  op: ChangeOp;
  status: TaskStatus;
  /** Lead version this change produced, once applied. */
  version: number | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  steps: TaskStep[];
}

export const isTerminal = (status: TaskStatus) =>
  status === 'completed' || status === 'failed' || status === 'cancelled';

export function taskTypeFor(op: ChangeOp): TaskType {
  return op === 'create' ? 'lead_process' : 'crm_update';
}
