import type { TaskOp } from './ids.js';
import type { ChangeOp } from './lead.js';

// Task and step shapes. The old design's task types are kept as names so its clients
// and dashboards keep working: lead_process, crm_update, email_send, workflow_execute.

export const TASK_STATUSES = ['queued', 'running', 'retrying', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_TYPES = ['lead_process', 'crm_update', 'email_send', 'workflow_execute', 'lead_erase'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** Steps of a lead's change, then those of its erasure (src/workflows/lead-erasure.ts). */
export const STEP_NAMES = [
  'lead_process',
  'crm_update',
  'email_send',
  'stop_runs',
  'crm_delete',
  'suppress_address',
  'release_claim',
  'delete_executions',
] as const;
export type StepName = (typeof STEP_NAMES)[number];
export type LeadStepName = 'lead_process' | 'crm_update' | 'email_send';
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
  op: TaskOp;
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

/**
 * The state of a change the moment a lead accepts it: queued, every step pending. The
 * welcome email is a step only of the change that creates the lead. Used by the lead
 * workflow and by the API's read model, so both describe a new task the same way.
 */
export function queuedTask(leadId: string, change: { task_id: string; op: ChangeOp; received_at: string }, withWelcome: boolean): TaskState {
  const steps: StepName[] = ['lead_process', 'crm_update'];
  if (withWelcome) steps.push('email_send');
  return {
    task_id: change.task_id,
    lead_id: leadId,
    type: taskTypeFor(change.op),
    op: change.op,
    status: 'queued',
    version: null,
    attempts: 0,
    last_error: null,
    created_at: change.received_at,
    updated_at: change.received_at,
    steps: steps.map((name) => ({ name, status: 'pending', attempts: 0, last_error: null, started_at: null, finished_at: null })),
  };
}

/** The activity that runs each step (processLead runs as a local activity). */
export const ACTIVITY_OF_STEP: Readonly<Record<LeadStepName, string>> = {
  lead_process: 'processLead',
  crm_update: 'syncLeadToCrm',
  email_send: 'sendLeadEmail',
};

/** The step an activity type runs, if it runs one. */
export function stepOfActivity(activityType: string | null | undefined): LeadStepName | undefined {
  return (Object.keys(ACTIVITY_OF_STEP) as LeadStepName[]).find((step) => ACTIVITY_OF_STEP[step] === activityType);
}
