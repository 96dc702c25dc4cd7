import { proxyActivities, setCurrentDetails, workflowInfo, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { formatDuration, scaleDuration } from '../automations/duration.js';
import type { PinnedAutomation, Step } from '../automations/schema.js';
import type { LeadView } from '../domain/lead.js';
import type {
  AutomationRunInput,
  AutomationRunSettings,
  AutomationRunState,
  RunStep,
  StepStatus,
} from '../temporal/automation-messages.js';

// What every step runner of an automation run works with: the run's input, the state its
// query shows, the bookkeeping of that state, and the activities with the run's options.

/** Thrown inside the interpreter to end the run early, as `stopped` with a reason. */
export class StopRun {
  constructor(readonly reason: string) {}
}

const NON_RETRYABLE = ['EmailRejected', 'WebhookRejected', 'LeadNotFound', 'InvalidLeadUpdate', 'AutomationsNotConfigured', 'CrmRejected', 'CrmConflict'];

type ActivityProxy = (summary: string) => ActivityInterfaceFor<Activities>;

export interface RunContext {
  leadId: string;
  /** The workflow id. */
  runId: string;
  automation: PinnedAutomation;
  state: AutomationRunState;
  /** Activities on the main queue, 60 s each; `summary` labels the scheduled activity. */
  act: ActivityProxy;
  /** applyLeadUpdate waits for the lead to apply the change and heartbeats while it does. */
  leadUpdate: ActivityProxy;
  /** CRM writes, on the CRM task queue. */
  crm: ActivityProxy;
  /** A definition's duration as this run waits it (AUTOMATION_TIME_SCALE). */
  scale(ms: number): number;
  /** ` (×0.001: 86ms)` after a timer's summary when the run is scaled. */
  scaledNote(ms: number): string;
  begin(step: Step, key: string, summary: string): RunStep;
  waitUntil(record: RunStep, ms: number): void;
  finish(record: RunStep, status: StepStatus, outcome?: string | null): void;
  /** The lead as it is now; a lead that is gone stops the run. */
  readLead(summary: string): Promise<LeadView>;
}

export function createRunContext(input: AutomationRunInput): RunContext {
  const { leadId, automation, settings } = input;
  const runId = workflowInfo().workflowId;
  const scale = (ms: number) => scaleDuration(ms, settings.timeScale);
  const proxies = activityProxies(settings);
  const state = initialState(input, runId);
  return {
    leadId,
    runId,
    automation,
    state,
    ...proxies,
    scale,
    scaledNote: (ms) => (settings.timeScale === 1 ? '' : ` (×${settings.timeScale}: ${formatDuration(scale(ms))})`),
    begin: (step, key, summary) => beginStep(state, step, key, summary),
    waitUntil: (record, ms) => waitUntil(state, record, ms),
    finish: (record, status, outcome = null) => finishStep(state, record, status, outcome),
    async readLead(summary) {
      const lead = await proxies.act(summary).readLead({ leadId });
      if (!lead) throw new StopRun('lead not found');
      return lead;
    },
  };
}

function activityProxies(settings: AutomationRunSettings): Pick<RunContext, 'act' | 'leadUpdate' | 'crm'> {
  const retry = {
    maximumAttempts: settings.maxAttempts,
    initialInterval: settings.initialIntervalMs,
    maximumInterval: settings.maxIntervalMs,
    backoffCoefficient: 2,
    nonRetryableErrorTypes: NON_RETRYABLE,
  };
  return {
    act: (summary) => proxyActivities<Activities>({ startToCloseTimeout: '60s', retry, summary }),
    leadUpdate: (summary) => proxyActivities<Activities>({ startToCloseTimeout: '5m', heartbeatTimeout: '30s', retry, summary }),
    crm: (summary) =>
      proxyActivities<Activities>({
        taskQueue: settings.crmTaskQueue,
        startToCloseTimeout: settings.crmActivityTimeoutMs ?? 60_000,
        retry,
        summary,
      }),
  };
}

function initialState(input: AutomationRunInput, runId: string): AutomationRunState {
  return {
    run_id: runId,
    automation_id: input.automation.id,
    automation_name: input.automation.definition.name,
    definition_hash: input.automation.hash,
    lead_id: input.leadId,
    trigger: input.trigger,
    time_scale: input.settings.timeScale,
    status: 'running',
    current_step: null,
    steps: [],
    next_wake_up: null,
    stop_reason: null,
    error: null,
    started_at: new Date().toISOString(),
    finished_at: null,
  };
}

function beginStep(state: AutomationRunState, step: Step, key: string, summary: string): RunStep {
  const record: RunStep = { key, type: step.type, summary, status: 'running', started_at: new Date().toISOString(), finished_at: null, outcome: null };
  state.current_step = record;
  state.status = 'running';
  state.next_wake_up = null;
  setCurrentDetails(`step ${key}: ${summary}`);
  return record;
}

function waitUntil(state: AutomationRunState, record: RunStep, ms: number): void {
  record.status = 'waiting';
  state.status = 'waiting';
  state.next_wake_up = new Date(Date.now() + ms).toISOString();
  setCurrentDetails(`step ${record.key}: ${record.summary}, wakes up at ${state.next_wake_up}`);
}

function finishStep(state: AutomationRunState, record: RunStep, status: StepStatus, outcome: string | null): void {
  record.status = status;
  record.outcome = outcome;
  record.finished_at = new Date().toISOString();
  state.steps.push(record);
  state.current_step = null;
  state.next_wake_up = null;
  state.status = 'running';
}
