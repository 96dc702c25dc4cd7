import { ApplicationFailure, ActivityFailure, CancelledFailure, isCancellation, metricMeter, setCurrentDetails, setHandler, upsertMemo } from '@temporalio/workflow';
import { automationRunQuery, type AutomationRunInput, type AutomationRunState } from '../temporal/automation-messages.js';
import { createRunContext, StopRun, type RunContext } from './automation-run-context.js';
import { runSteps } from './automation-steps.js';

export type { AutomationRunInput } from '../temporal/automation-messages.js';

/**
 * One run of an automation for one lead (workflow id `automation-<leadId>-<automationId>-<key>`).
 * Interprets the definition it was started with, step by step (automation-steps.ts): waits
 * are durable timers (nothing but a timer is held while a run waits for days), actions are
 * activities with readable summaries, and every decision reads the lead as it is at that moment.
 */
export async function automationRun(input: AutomationRunInput): Promise<AutomationRunState> {
  const run = createRunContext(input);
  setHandler(automationRunQuery, () => run.state);
  try {
    await runSteps(input.automation.definition.steps, '', run);
    end(run.state, 'completed');
    return run.state;
  } catch (err) {
    return endEarly(run, err);
  }
}

function end(state: AutomationRunState, status: AutomationRunState['status']): void {
  state.status = status;
  state.finished_at = new Date().toISOString();
  state.next_wake_up = null;
  setCurrentDetails(`${status}${state.stop_reason ? `: ${state.stop_reason}` : ''}${state.error ? `: ${state.error}` : ''}`);
  // Listings read the outcome from the memo: `stopped` is a completion to Temporal.
  upsertMemo({ status, stop_reason: state.stop_reason });
  // Leaves through the worker's Prometheus endpoint; the SDK drops it on replay, so each run counts once.
  metricMeter.createCounter('automation_runs', undefined, 'Automation runs ended, by status').add(1, { status });
}

/** A run that did not complete: stopped (returns its state), cancelled or failed (throws). */
function endEarly(run: RunContext, err: unknown): AutomationRunState {
  const { state } = run;
  const current = state.current_step;
  if (err instanceof StopRun) {
    if (current) run.finish(current, 'skipped', err.reason);
    state.stop_reason = err.reason;
    end(state, 'stopped');
    return state;
  }
  if (isCancellation(err)) {
    if (current) run.finish(current, 'cancelled');
    state.stop_reason = 'cancelled';
    end(state, 'cancelled');
    throw err instanceof CancelledFailure ? err : new CancelledFailure('automation run cancelled');
  }
  const error = describeFailure(err);
  if (current) run.finish(current, 'failed', error);
  state.error = error;
  end(state, 'failed');
  throw ApplicationFailure.create({
    type: 'AutomationStepFailed',
    message: current ? `step ${current.key} (${current.summary}) failed: ${error}` : error,
    nonRetryable: true,
  });
}

function describeFailure(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}
