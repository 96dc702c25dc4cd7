import { defaultPayloadConverter } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { LeadView } from '../domain/lead.js';
import { isoTimestamp, quote } from '../temporal/protocol.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import type { TemporalCalls } from '../temporal/calls.js';
import { listExecutions } from '../temporal/visibility.js';

export interface ListFilter {
  /** Handled by the lead service through the email's claim (one lead at most), never here. */
  email?: string | undefined;
  stage?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * Leads from Temporal visibility: each running lead workflow's memo, filtered by its search
 * attributes. Only this deployment's task queue: another deployment sharing the namespace
 * (its own queue, perhaps its own payload keys) has leads this API neither runs nor may read.
 */
export function listLeads(
  calls: TemporalCalls,
  scope: { namespace: string; taskQueue: string },
  filter: ListFilter,
  deadline: number,
): Promise<{ items: LeadView[]; next_cursor: string | null }> {
  const clauses = [`WorkflowType = ${quote(leadWorkflow.name)}`, `ExecutionStatus = 'Running'`, `TaskQueue = ${quote(scope.taskQueue)}`];
  if (filter.stage) clauses.push(`${SA.stage.name} = ${quote(filter.stage)}`);
  return listExecutions(calls, scope.namespace, { query: clauses.join(' AND '), limit: filter.limit, cursor: filter.cursor }, deadline, leadFromVisibility);
}

type Execution = temporal.api.workflow.v1.IWorkflowExecutionInfo;

function leadFromVisibility(execution: Execution): LeadView | undefined {
  const fields = execution.memo?.fields ?? {};
  const memoLead = fields.lead ? defaultPayloadConverter.fromPayload<LeadView>(fields.lead) : undefined;
  if (memoLead) return memoLead;
  // Accepted but not yet processed by a worker: what visibility knows is the start state.
  const attrs = execution.searchAttributes?.indexedFields ?? {};
  // Generation 4 keeps the start's email in the memo; older runs had it in a search attribute.
  const emailPayload = fields.email ?? attrs[SA.email.name];
  const email = emailPayload ? defaultPayloadConverter.fromPayload<string>(emailPayload) : undefined;
  const stage = attrs[SA.stage.name] ? defaultPayloadConverter.fromPayload<LeadView['stage']>(attrs[SA.stage.name]!) : undefined;
  const id = execution.execution?.workflowId?.replace(/^lead-/, '');
  if (!email || !id) return undefined;
  const startedAt = isoTimestamp(execution.startTime) ?? '';
  return {
    id,
    email,
    version: 0,
    score: 0,
    stage: stage ?? 'new',
    crm: { status: 'pending', synced_version: 0 },
    created_at: startedAt,
    updated_at: startedAt,
  };
}
