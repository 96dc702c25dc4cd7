import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LeadChange, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';

// Message definitions shared by the workflow and its clients (the API, tests, benchmarks).

export const leadChangeSignal = defineSignal<[LeadChange]>('leadChange');
export const leadQuery = defineQuery<LeadView | null>('lead');
export const taskQuery = defineQuery<TaskState | null, [string]>('task');
