import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { LeadChange } from '../domain/lead.js';
import { leadChangeSignal, type LeadWorkflowInput } from '../temporal/lead-messages.js';
import { ACTIVITY_OF_STEP, stepOfActivity } from '../domain/task.js';
import { isoTimestamp } from '../temporal/protocol.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** One entry of GET /api/leads/:id/history. */
export interface LeadEvent {
  at: string;
  kind: 'change' | 'processed' | 'crm_sync' | 'email' | 'retry' | 'failure' | 'continued_as_new';
  [detail: string]: unknown;
}


export function eventTime(event: HistoryEvent): string {
  return isoTimestamp(event.eventTime) ?? new Date(0).toISOString();
}

function decode<T>(payloads: Payloads, index = 0): T | undefined {
  return decodePayload<T>(payloads?.payloads?.[index]);
}

/** One payload decoded with the default converter; undefined when absent or unreadable. */
export function decodePayload<T>(payload: temporal.api.common.v1.IPayload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

const changeEvent = (at: string, change: LeadChange): LeadEvent => ({
  at,
  kind: 'change',
  op: change.op,
  task_id: change.task_id,
  fields: Object.keys(change.fields),
  ...(change.source ? { source: change.source, crm_at: change.crm_at } : {}),
});

type Scheduled = Map<string, { type: string; input: Record<string, unknown> | undefined }>;

/**
 * Turns one run's Temporal history into lead events: every accepted change (workflow
 * start input and signals), every CRM sync and email (activity completions), every retry
 * (activity started on attempt > 1, with the failure that caused it) and every failure.
 */
export function leadEventsFromHistory(events: HistoryEvent[]): { events: LeadEvent[]; previousRunId?: string } {
  const out: LeadEvent[] = [];
  const scheduled: Scheduled = new Map();
  let previousRunId: string | undefined;

  for (const event of events) {
    const at = eventTime(event);
    if (event.workflowExecutionStartedEventAttributes) {
      const attrs = event.workflowExecutionStartedEventAttributes;
      previousRunId = attrs.continuedExecutionRunId || undefined;
      const input = decode<LeadWorkflowInput>(attrs.input);
      // Changes carried over in `carried.pending` were already told as signals of the previous run.
      if (input?.initial) out.push(changeEvent(at, input.initial));
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const attrs = event.workflowExecutionSignaledEventAttributes;
      const change = decode<LeadChange>(attrs.input);
      if (attrs.signalName === leadChangeSignal.name && change) out.push(changeEvent(at, change));
    } else if (event.markerRecordedEventAttributes) {
      const details = event.markerRecordedEventAttributes.details ?? {};
      // Local-activity markers: `data` holds the marker's metadata, `result` the activity's result.
      const meta = decode<{ activity_type?: string }>(details.data);
      const result = decode<{ score?: number }>(details.result);
      if (meta?.activity_type === ACTIVITY_OF_STEP.lead_process && result) out.push({ at, kind: 'processed', score: result.score });
    } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
      out.push({ at, kind: 'continued_as_new' });
    } else {
      const told = activityEvent(event, at, scheduled);
      if (told) out.push(told);
    }
  }
  return { events: out, previousRunId };
}

/** An activity's retry, completion or failure as a lead event; its scheduling is remembered for them. */
function activityEvent(event: HistoryEvent, at: string, scheduled: Scheduled): LeadEvent | undefined {
  if (event.activityTaskScheduledEventAttributes) {
    const attrs = event.activityTaskScheduledEventAttributes;
    scheduled.set(event.eventId?.toString() ?? '', { type: attrs.activityType?.name ?? 'unknown', input: decode<Record<string, unknown>>(attrs.input) });
    return undefined;
  }
  if (event.activityTaskStartedEventAttributes) {
    const attrs = event.activityTaskStartedEventAttributes;
    const activity = scheduled.get(attrs.scheduledEventId?.toString() ?? '');
    if ((attrs.attempt ?? 1) <= 1) return undefined;
    const step = stepOfActivity(activity?.type) ?? activity?.type;
    return { at, kind: 'retry', step, attempt: attrs.attempt, last_error: attrs.lastFailure?.message ?? null };
  }
  if (event.activityTaskCompletedEventAttributes) {
    const attrs = event.activityTaskCompletedEventAttributes;
    const activity = scheduled.get(attrs.scheduledEventId?.toString() ?? '');
    const result = decode<Record<string, unknown>>(attrs.result);
    if (activity?.type === ACTIVITY_OF_STEP.crm_update) {
      return { at, kind: 'crm_sync', version: activity.input?.version, created: result?.created, attempts: result?.attempt };
    }
    if (activity?.type === ACTIVITY_OF_STEP.email_send) {
      return { at, kind: 'email', template: activity.input?.template, message_id: result?.messageId, attempts: result?.attempt };
    }
    return undefined;
  }
  const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
  if (!failed) return undefined;
  const activity = scheduled.get(failed.scheduledEventId?.toString() ?? '');
  const error = failed.failure?.cause?.message ?? failed.failure?.message ?? 'failed';
  return { at, kind: 'failure', step: stepOfActivity(activity?.type) ?? activity?.type, error };
}

/** The changes a run has accepted, in order: used to answer reads when no worker does. */
export function acceptedChanges(events: HistoryEvent[]): { input: LeadWorkflowInput | undefined; changes: LeadChange[] } {
  let input: LeadWorkflowInput | undefined;
  const changes: LeadChange[] = [];
  for (const event of events) {
    if (event.workflowExecutionStartedEventAttributes) {
      input = decode<LeadWorkflowInput>(event.workflowExecutionStartedEventAttributes.input);
      if (input?.initial) changes.push(input.initial);
      changes.push(...(input?.carried?.pending ?? []));
    } else if (event.workflowExecutionSignaledEventAttributes?.signalName === leadChangeSignal.name) {
      const change = decode<LeadChange>(event.workflowExecutionSignaledEventAttributes.input);
      if (change) changes.push(change);
    }
  }
  return { input, changes };
}
