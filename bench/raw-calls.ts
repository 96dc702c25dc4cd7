import type { Client } from '@temporalio/client';
import { leadWorkflowId, newTaskId } from '../src/domain/ids.js';
import type { LeadChange } from '../src/domain/lead.js';
import type { LeadWorkflowInput, LeadWorkflowSettings } from '../src/workflows/lead-workflow.js';
import { leadChangeSignal } from '../src/workflows/messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../src/workflows/search-attributes.js';
import { leadBody } from './workload.js';

// The Temporal calls the API makes for a create and a replace (src/api/lead-service.ts),
// made directly: used by ceiling C2 and to preload leads for C3.

export interface RawTarget {
  taskQueue: string;
  settings: LeadWorkflowSettings;
  writeTimeoutMs: number;
}

export function change(taskId: string, op: LeadChange['op'], fields: LeadChange['fields']): LeadChange {
  return { task_id: taskId, op, fields, received_at: new Date().toISOString() };
}

/** POST /api/leads: workflow.start with conflict policy FAIL, memo and search attributes. */
export async function startLead(client: Client, target: RawTarget, email: string, leadId: string, marker: number): Promise<void> {
  const taskId = newTaskId(leadId);
  const fields = leadBody(email, marker, 'create');
  const input: LeadWorkflowInput = { leadId, settings: target.settings, initial: change(taskId, 'create', fields) };
  await client.withDeadline(Date.now() + target.writeTimeoutMs, () =>
    client.workflow.start('leadWorkflow', {
      workflowId: leadWorkflowId(leadId),
      taskQueue: target.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      memo: { created_task_id: taskId },
      typedSearchAttributes: [
        { key: SA.email, value: fields.email },
        { key: SA.stage, value: fields.stage },
        { key: SA.version, value: 0 },
      ],
      staticSummary: `lead ${fields.email}`,
    }),
  );
}

/** PUT /api/leads/:id: signal 'leadChange' with a replace. Returns the task id. */
export async function replaceLead(client: Client, target: RawTarget, email: string, leadId: string, marker: number): Promise<string> {
  const taskId = newTaskId(leadId);
  await client.withDeadline(Date.now() + target.writeTimeoutMs, () =>
    client.workflow
      .getHandle(leadWorkflowId(leadId))
      .signal(leadChangeSignal, change(taskId, 'replace', leadBody(email, marker, 'replace'))),
  );
  return taskId;
}
