import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { LeadChange, LeadFields, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';

// The lead workflow's input, signal and queries, shared by the workflow and its clients (the
// API, tests, benchmarks).

/** Settings fixed when a lead's workflow starts and carried across continue-as-new. */
export interface LeadWorkflowSettings {
  crmTaskQueue: string;
  maxAttempts: number;
  initialIntervalMs: number;
  maxIntervalMs: number;
  continueAsNewAfterEvents: number;
  crmResyncIntervalMs: number;
  /**
   * Start-to-close of one CRM write: the CRM client's own timeout plus a margin, so a write
   * lost with a crashed worker is retried within seconds. Absent from runs started before
   * it existed, which keep 60 s.
   */
  crmActivityTimeoutMs?: number;
}

export interface LeadWorkflowInput {
  leadId: string;
  settings: LeadWorkflowSettings;
  initial?: LeadChange;
  carried?: CarriedLeadState;
  /**
   * Which code paths this run takes, fixed in its input (so replay sees the same value).
   * Absent (1): runs started before the patches below were folded in; they ask `patched()`.
   * 2: takes the patched paths without `patched()` calls, each of which costs a marker and an
   * upsert of the TemporalChangeVersion search attribute, and upserts only the search
   * attributes whose value changed (LeadVersion is no longer kept: the memo has the version).
   * 3: the memo of each batch's end also holds that batch's tasks in full and the ids of the
   * changes accepted but not yet applied, so the API can answer reads from the memo and the
   * events after it without asking a worker (domain/lead-read-model.ts). Nothing else differs.
   * 4: no email in search attributes (they are not encrypted by the payload codec): LeadEmail
   * is not published, and a run continued from generation 3 removes the one it inherited.
   * Lookups by email used the workflow id, then a hash of the email; since issue #22, the email's claim.
   * 5: identity and consent held across leads (docs/personal-data.md): lead_process reads the
   * address's suppression, which sets `unsubscribed` (and writes it when a change opts out);
   * after a batch that moved the lead's email, the lead releases its claims on the emails it
   * left; permanent failures (CRM or mail server refusals) are dead letters, not repaired by
   * the timer; transient ones are repaired with a backoff from 1 min to 1 h.
   * Every run continues as new at the current generation (LEAD_WORKFLOW_GENERATION).
   */
  generation?: number;
}

export type WelcomeState = 'pending' | 'sent' | 'skipped' | 'failed';

/** State handed from one run to the next on continue-as-new. */
export interface CarriedLeadState {
  fields: LeadFields;
  version: number;
  score: number;
  crm: LeadView['crm'];
  welcome: WelcomeState;
  createdAt: string;
  updatedAt: string;
  tasks: TaskState[];
  pending: LeadChange[];
  /** Generation 5: the failed welcome is a dead letter (see workflows/lead-repair.ts). */
  welcomePermanent?: boolean;
  /** Generation 5: the repair backoff's step (timer repairs in a row that failed). */
  failedRepairs?: number;
  /** When the CRM last changed each field (see LeadEntity.crmFieldAt); only once the CRM changed one. */
  crmFieldAt?: Record<string, string>;
}


export const leadChangeSignal = defineSignal<[LeadChange]>('leadChange');

/**
 * Re-drive: repair a failed CRM sync or welcome email now instead of at the next repair timer
 * (crmResyncIntervalMs). Harmless when nothing failed: the workflow ignores it. The signal is
 * what bulk re-drives send (a Temporal batch operation); the update is the single-lead form,
 * whose validator refuses a lead with nothing to repair so the caller can tell.
 */
export const redriveSignal = defineSignal('redrive');
export const redriveUpdate = defineUpdate<RedriveAnswer>('redrive');

/** What a lead held when a re-drive was accepted. */
export interface RedriveAnswer {
  crm: LeadView['crm']['status'];
  welcome: WelcomeState;
}

/** The generation new lead runs start at (see LeadWorkflowInput.generation). */
export const LEAD_WORKFLOW_GENERATION = 5;
export const leadQuery = defineQuery<LeadView | null>('lead');
/**
 * The lead as of its last processed version: exactly the content the lead's own CRM write
 * for that version carries. The plain `lead` query can show a version whose changes are
 * applied but not yet normalized; anything that writes or decides on a lead's content
 * (automation steps) reads this one.
 */
export const processedLeadQuery = defineQuery<LeadView | null>('processedLead');
export const taskQuery = defineQuery<TaskState | null, [string]>('task');
