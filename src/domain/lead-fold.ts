import { applyChange, crmPatchOf } from './apply-change.js';
import type { LeadChange, LeadFields } from './lead.js';

// How accepted changes make a lead, in one place: the lead workflow applies changes with it,
// and the API's read model (lead-read-model.ts) and history fallback fold with it, so a read
// that no worker answers shows the same lead. Type imports only: the workflow imports it
// (see apply-change.ts).

/** A lead's fields and what every applied change moves. */
export interface LeadState {
  /** Undefined until a change creates the lead. */
  fields: LeadFields | undefined;
  /** How many changes were applied. */
  version: number;
  /** The first applied change's received_at ('' before it). */
  createdAt: string;
  /** The last applied change's received_at ('' before it). */
  updatedAt: string;
}

/** A lead no change has reached. */
export const NO_LEAD: LeadState = Object.freeze({ fields: undefined, version: 0, createdAt: '', updatedAt: '' });

/** Applies one accepted change: its fields, one more version, its time. */
export function applyLeadChange(state: LeadState, change: LeadChange): LeadState {
  // A CRM change the lead shows already (an echo of its own write) makes no version.
  if (change.source === 'crm' && Object.keys(crmPatchOf(state.fields, change)).length === 0) return state;
  return {
    fields: applyChange(state.fields, change),
    version: state.version + 1,
    createdAt: state.createdAt || change.received_at,
    updatedAt: change.received_at,
  };
}

/** Applies accepted changes in arrival order. */
export function applyChanges(state: LeadState, changes: readonly LeadChange[]): LeadState {
  return changes.reduce(applyLeadChange, state);
}

/** Anything that knows which task ids a lead has accepted (a Set, the workflow's task Map). */
export interface SeenTasks {
  has(taskId: string): boolean;
}

/**
 * Whether a lead accepts a change: a client retry with the same Idempotency-Key carries the
 * same task id, and a task id seen before is applied once.
 */
export function isNewChange(seen: SeenTasks, change: LeadChange): boolean {
  return !seen.has(change.task_id);
}

/** The changes a lead accepts, in arrival order: each task id not in `seen`, once. */
export function acceptChanges(seen: SeenTasks, changes: Iterable<LeadChange>): LeadChange[] {
  const accepted = new Set<string>();
  const out: LeadChange[] = [];
  for (const change of changes) {
    if (!isNewChange(seen, change) || !isNewChange(accepted, change)) continue;
    accepted.add(change.task_id);
    out.push(change);
  }
  return out;
}
