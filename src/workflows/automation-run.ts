import {
  ApplicationFailure,
  ActivityFailure,
  CancelledFailure,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { describeCondition, evaluateCondition } from '../automations/conditions.js';
import { formatDuration, parseDuration, scaleDuration } from '../automations/duration.js';
import { stepTaskId } from '../automations/ids.js';
import type { Step } from '../automations/schema.js';
import type { LeadView } from '../domain/lead.js';
import {
  automationRunQuery,
  type AutomationRunInput,
  type AutomationRunState,
  type RunStep,
  type StepStatus,
} from '../temporal/automation-messages.js';

export type { AutomationRunInput } from '../temporal/automation-messages.js';

/** Thrown inside the interpreter to end the run early, as `stopped` with a reason. */
class StopRun {
  constructor(readonly reason: string) {}
}

const NON_RETRYABLE = ['EmailRejected', 'WebhookRejected', 'LeadNotFound', 'InvalidLeadUpdate', 'AutomationsNotConfigured', 'CrmRejected'];

/**
 * One run of an automation for one lead (workflow id `automation-<leadId>-<automationId>-<key>`).
 * Interprets the definition it was started with, step by step: waits are durable timers
 * (nothing but a timer is held while a run waits for days), actions are activities with
 * readable summaries, and every decision reads the lead as it is at that moment.
 */
export async function automationRun(input: AutomationRunInput): Promise<AutomationRunState> {
  const { leadId, automation, settings } = input;
  const runId = workflowInfo().workflowId;
  const now = () => new Date().toISOString();
  const scale = (ms: number) => scaleDuration(ms, settings.timeScale);
  const scaledNote = (ms: number) => (settings.timeScale === 1 ? '' : ` (×${settings.timeScale}: ${formatDuration(scale(ms))})`);

  const retry = {
    maximumAttempts: settings.maxAttempts,
    initialInterval: settings.initialIntervalMs,
    maximumInterval: settings.maxIntervalMs,
    backoffCoefficient: 2,
    nonRetryableErrorTypes: NON_RETRYABLE,
  };
  const act = (summary: string) => proxyActivities<Activities>({ startToCloseTimeout: '60s', retry, summary });
  // applyLeadUpdate waits for the lead to apply the change and heartbeats while it does.
  const leadUpdate = (summary: string) =>
    proxyActivities<Activities>({ startToCloseTimeout: '5m', heartbeatTimeout: '30s', retry, summary });
  const crm = (summary: string) =>
    proxyActivities<Activities>({
      taskQueue: settings.crmTaskQueue,
      startToCloseTimeout: settings.crmActivityTimeoutMs ?? 60_000,
      retry,
      summary,
    });

  const state: AutomationRunState = {
    run_id: runId,
    automation_id: automation.id,
    automation_name: automation.definition.name,
    definition_hash: automation.hash,
    lead_id: leadId,
    trigger: input.trigger,
    time_scale: settings.timeScale,
    status: 'running',
    current_step: null,
    steps: [],
    next_wake_up: null,
    stop_reason: null,
    error: null,
    started_at: now(),
    finished_at: null,
  };
  setHandler(automationRunQuery, () => state);

  function begin(step: Step, key: string, summary: string): RunStep {
    const record: RunStep = { key, type: step.type, summary, status: 'running', started_at: now(), finished_at: null, outcome: null };
    state.current_step = record;
    state.status = 'running';
    state.next_wake_up = null;
    setCurrentDetails(`step ${key}: ${summary}`);
    return record;
  }

  function waitUntil(record: RunStep, ms: number): void {
    record.status = 'waiting';
    state.status = 'waiting';
    state.next_wake_up = new Date(Date.now() + ms).toISOString();
    setCurrentDetails(`step ${record.key}: ${record.summary}, wakes up at ${state.next_wake_up}`);
  }

  function finish(record: RunStep, status: StepStatus, outcome: string | null = null): void {
    record.status = status;
    record.outcome = outcome;
    record.finished_at = now();
    state.steps.push(record);
    state.current_step = null;
    state.next_wake_up = null;
    state.status = 'running';
  }

  async function readLead(summary: string): Promise<LeadView> {
    const lead = await act(summary).readLead({ leadId });
    if (!lead) throw new StopRun('lead not found');
    return lead;
  }

  async function runSteps(steps: Step[], prefix: string): Promise<void> {
    for (const [i, step] of steps.entries()) await runStep(step, `${prefix}${i + 1}`);
  }

  async function runStep(step: Step, key: string): Promise<void> {
    switch (step.type) {
      case 'wait': {
        const ms = parseDuration(step.duration)!;
        const record = begin(step, key, `wait ${step.duration}`);
        waitUntil(record, scale(ms));
        await sleep(scale(ms), { summary: `wait ${step.duration}${scaledNote(ms)}` });
        finish(record, 'completed');
        return;
      }

      case 'wait_for': {
        const summary = `wait_for ${describeCondition(step.until)} (up to ${step.timeout})`;
        const record = begin(step, key, summary);
        const deadline = Date.now() + scale(parseDuration(step.timeout)!);
        const every = scale(parseDuration(step.every)!);
        for (let looks = 1; ; looks++) {
          const lead = await readLead(`wait_for: ${describeCondition(step.until)}`);
          if (evaluateCondition(step.until, lead)) {
            finish(record, 'completed', `matched (look ${looks})`);
            return;
          }
          const left = deadline - Date.now();
          if (left <= 0) break;
          const nap = Math.min(every, left);
          waitUntil(record, nap);
          await sleep(nap, { summary: `wait_for: look again in ${formatDuration(nap)}` });
          record.status = 'running';
          state.status = 'running';
        }
        finish(record, 'completed', 'timed out');
        await runSteps(step.on_timeout, `${key}.on_timeout.`);
        return;
      }

      case 'send_email': {
        const summary = `email: ${step.template}`;
        const record = begin(step, key, summary);
        const result = await act(summary).sendAutomationEmail({
          runId,
          stepKey: key,
          leadId,
          automationName: automation.definition.name,
          templateName: step.template,
          template: automation.templates[step.template]!,
        });
        if (!result.sent) {
          finish(record, 'skipped', result.reason);
          throw new StopRun(result.reason === 'unsubscribed' ? 'lead unsubscribed' : 'lead not found');
        }
        finish(record, 'completed', `sent ${result.messageId}`);
        return;
      }

      case 'update_lead': {
        const parts = [
          ...Object.entries(step.set ?? {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`),
          ...(step.add_tags ?? []).map((t) => `+${t}`),
          ...(step.remove_tags ?? []).map((t) => `-${t}`),
        ];
        const summary = `update_lead: ${parts.join(', ')}`;
        const record = begin(step, key, summary);
        const result = await leadUpdate(summary).applyLeadUpdate({
          leadId,
          taskId: stepTaskId(leadId, runId, key),
          set: step.set,
          addTags: step.add_tags,
          removeTags: step.remove_tags,
        });
        finish(record, 'completed', `lead v${result.version} (task ${result.taskId})`);
        return;
      }

      case 'crm_update': {
        const record = begin(step, key, 'crm_update');
        const { crm: _own, ...lead } = await readLead('crm_update: read lead');
        const result = await crm(`crm_update v${lead.version}`).syncLeadToCrm({ leadId, version: lead.version, lead });
        finish(record, 'completed', `CRM at v${result.version}${result.stale ? ' (it already had this version)' : ''}`);
        return;
      }

      case 'score': {
        const summary = `score → custom.${step.into}`;
        const record = begin(step, key, summary);
        const lead = await readLead(`score: read lead`);
        let score = step.base === 'lead_score' ? lead.score : step.base;
        for (const rule of step.rules) if (evaluateCondition(rule.if, lead)) score += rule.points;
        score = Math.max(step.min, Math.min(step.max, score));
        const result = await leadUpdate(`score: custom.${step.into} = ${score}`).applyLeadUpdate({
          leadId,
          taskId: stepTaskId(leadId, runId, key),
          custom: { [step.into]: score },
        });
        finish(record, 'completed', `custom.${step.into} = ${score} (lead v${result.version})`);
        return;
      }

      case 'branch': {
        const condition = describeCondition(step.if);
        const record = begin(step, key, `branch: if ${condition}`);
        const lead = await readLead(`branch: if ${condition}`);
        const taken = evaluateCondition(step.if, lead) ? 'then' : 'else';
        finish(record, 'completed', `took ${taken}`);
        await runSteps(step[taken], `${key}.${taken}.`);
        return;
      }

      case 'webhook': {
        const summary = `webhook: ${step.name}`;
        const record = begin(step, key, summary);
        const result = await act(summary).postWebhook({
          runId,
          stepKey: key,
          leadId,
          automationId: automation.id,
          name: step.name,
          url: step.url,
          payload: step.payload,
          headers: step.headers,
        });
        finish(record, 'completed', `HTTP ${result.status}`);
        return;
      }

      case 'stop': {
        const record = begin(step, key, `stop${step.reason ? `: ${step.reason}` : ''}`);
        finish(record, 'completed');
        throw new StopRun(step.reason ?? 'stop step');
      }
    }
  }

  const end = (status: AutomationRunState['status']) => {
    state.status = status;
    state.finished_at = now();
    state.next_wake_up = null;
    setCurrentDetails(`${status}${state.stop_reason ? `: ${state.stop_reason}` : ''}${state.error ? `: ${state.error}` : ''}`);
    // Listings read the outcome from the memo: `stopped` is a completion to Temporal.
    upsertMemo({ status, stop_reason: state.stop_reason });
  };

  try {
    await runSteps(automation.definition.steps, '');
    end('completed');
    return state;
  } catch (err) {
    const current = state.current_step;
    if (err instanceof StopRun) {
      if (current) finish(current, 'skipped', err.reason);
      state.stop_reason = err.reason;
      end('stopped');
      return state;
    }
    if (isCancellation(err)) {
      if (current) finish(current, 'cancelled');
      state.stop_reason = 'cancelled';
      end('cancelled');
      throw err instanceof CancelledFailure ? err : new CancelledFailure('automation run cancelled');
    }
    const error = describeFailure(err);
    if (current) finish(current, 'failed', error);
    state.error = error;
    end('failed');
    throw ApplicationFailure.create({
      type: 'AutomationStepFailed',
      message: current ? `step ${current.key} (${current.summary}) failed: ${error}` : error,
      nonRetryable: true,
    });
  }
}

function describeFailure(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
