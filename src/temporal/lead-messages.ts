import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LeadChange, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';

// Message definitions shared by the workflow and its clients (the API, tests, benchmarks).

export const leadChangeSignal = defineSignal<[LeadChange]>('leadChange');

/** The generation new lead runs start at (see LeadWorkflowInput.generation). */
export const LEAD_WORKFLOW_GENERATION = 3;
export const leadQuery = defineQuery<LeadView | null>('lead');
/**
 * The lead as of its last processed version: exactly the content the lead's own CRM write
 * for that version carries. The plain `lead` query can show a version whose changes are
 * applied but not yet normalized; anything that writes or decides on a lead's content
 * (automation steps) reads this one.
 */
export const processedLeadQuery = defineQuery<LeadView | null>('processedLead');
export const taskQuery = defineQuery<TaskState | null, [string]>('task');
