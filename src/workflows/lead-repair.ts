import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { LeadEntity } from './lead-state.js';

// Which failed work of a lead its repair timer retries, and when (generation 5, see
// LeadWorkflowInput.generation). A permanent failure is the other side's final word on this
// version: retrying it every minute only repeats the refusal, so it is a dead letter that
// waits for an operator's re-drive or a new change. A transient failure repairs itself, on
// a backoff that starts at the resync interval and doubles up to REPAIR_BACKOFF_CAP times it.

/**
 * The ApplicationFailure types that are refusals, not outages: a CRM 4xx (CrmRejected), a
 * CRM 409 (CrmConflict) and an SMTP 5xx (EmailRejected). Matched by name, so a type an
 * activity starts throwing later is classified here without importing activity code.
 */
export const PERMANENT_FAILURE_TYPES: ReadonlySet<string> = new Set(['CrmRejected', 'CrmConflict', 'EmailRejected']);

/** The longest repair wait, as a multiple of the first (60 × 1 min = 1 h). */
export const REPAIR_BACKOFF_CAP = 60;

/** The ApplicationFailure type under an activity's failure, if there is one. */
export function failureType(err: unknown): string | undefined {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : undefined;
}

export function isPermanentFailure(err: unknown): boolean {
  const type = failureType(err);
  return type !== undefined && PERMANENT_FAILURE_TYPES.has(type);
}

/** The wait before the next repair after `failedRepairs` timer repairs in a row failed. */
export function repairDelayMs(firstMs: number, failedRepairs: number): number {
  // The exponent is bounded so a lead failing for years cannot overflow to Infinity.
  return Math.min(firstMs * 2 ** Math.min(failedRepairs, 32), firstMs * REPAIR_BACKOFF_CAP);
}

/**
 * How long the lead waits for its next timer repair, or undefined when the timer has nothing
 * to do (nothing failed, or only dead letters). The backoff starts over once nothing
 * transient is left to repair: a success resets it.
 */
export function repairWait(entity: LeadEntity, firstMs: number): number | undefined {
  if (!entity.needsTimerRepair()) {
    entity.failedRepairs = 0;
    return undefined;
  }
  return repairDelayMs(firstMs, entity.failedRepairs);
}
