import { defineQuery } from '@temporalio/workflow';
import type { PinnedAutomation, StepType, TriggerEvent } from '../automations/schema.js';

// The automation run's input, state and query, shared by the workflow and its clients
// (the lead workflow's trigger, the API, tests).

export interface AutomationRunSettings {
  /** AUTOMATION_TIME_SCALE when the run started: every wait is multiplied by it. */
  timeScale: number;
  crmTaskQueue: string;
  maxAttempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** See LeadWorkflowSettings.crmActivityTimeoutMs; absent in older runs (60 s). */
  crmActivityTimeoutMs?: number;
}

/** A run's settings from the lead's (a LeadWorkflowSettings fits) plus the time scale. */
export function automationRunSettings(lead: Omit<AutomationRunSettings, 'timeScale'>, timeScale: number): AutomationRunSettings {
  return {
    timeScale,
    crmTaskQueue: lead.crmTaskQueue,
    maxAttempts: lead.maxAttempts,
    initialIntervalMs: lead.initialIntervalMs,
    maxIntervalMs: lead.maxIntervalMs,
    ...(lead.crmActivityTimeoutMs !== undefined ? { crmActivityTimeoutMs: lead.crmActivityTimeoutMs } : {}),
  };
}

export interface AutomationRunInput {
  leadId: string;
  /** The definition and templates as they were when the run started, with their hash. */
  automation: PinnedAutomation;
  trigger: { event: TriggerEvent; task_id: string | null };
  settings: AutomationRunSettings;
}

export const RUN_STATUSES = ['running', 'waiting', 'completed', 'stopped', 'cancelled', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type StepStatus = 'running' | 'waiting' | 'completed' | 'skipped' | 'failed' | 'cancelled';

export type RunStep = {
  /** Where the step is in the definition: `3`, or `3.else.1` inside a branch. */
  key: string;
  type: StepType;
  summary: string;
  status: StepStatus;
  started_at: string;
  finished_at: string | null;
  /** What came of it: `sent <…>`, `took else`, `matched`, `timed out`, `custom.nurture_score = 75`. */
  outcome: string | null;
};

export type AutomationRunState = {
  run_id: string;
  automation_id: string;
  automation_name: string;
  definition_hash: string;
  lead_id: string;
  trigger: AutomationRunInput['trigger'];
  time_scale: number;
  status: RunStatus;
  current_step: RunStep | null;
  /** Finished steps, oldest first. */
  steps: RunStep[];
  /** When a waiting run wakes up next (end of a wait, or the next look of a wait_for). */
  next_wake_up: string | null;
  stop_reason: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
};

export const automationRunQuery = defineQuery<AutomationRunState>('automationRun');
