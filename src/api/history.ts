import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { LeadChange } from '../domain/lead.js';
import type { LeadWorkflowInput } from '../workflows/lead-workflow.js';
import { leadChangeSignal } from '../temporal/lead-messages.js';
import { stepOfActivity } from '../domain/task.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** One entry of GET /api/leads/:id/history. */
export interface LeadEvent {
  at: string;
  kind: 'change' | 'processed' | 'crm_sync' | 'email' | 'retry' | 'failure' | 'continued_as_new';
  [detail: string]: unknown;
}


export function eventTime(event: HistoryEvent): string {
  const t = event.eventTime;
  if (!t) return new Date(0).toISOString();
  const seconds = Number(t.seconds?.toString() ?? 0);
  return new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
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
});

/**
 * Turns one run's Temporal history into lead events: every accepted change (workflow
 * start input and signals), every CRM sync and email (activity completions), every retry
 * (activity started on attempt > 1, with the failure that caused it) and every failure.
 */
export function leadEventsFromHistory(events: HistoryEvent[]): { events: LeadEvent[]; previousRunId?: string } {
  const out: LeadEvent[] = [];
  const scheduled = new Map<string, { type: string; input: Record<string, unknown> | undefined }>();
  let previousRunId: string | undefined;

  for (const event of events) {
    const at = eventTime(event);
    const id = event.eventId?.toString() ?? '';
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
      if (meta?.activity_type === 'processLead' && result) out.push({ at, kind: 'processed', score: result.score });
    } else if (event.activityTaskScheduledEventAttributes) {
      const attrs = event.activityTaskScheduledEventAttributes;
      scheduled.set(id, {
        type: attrs.activityType?.name ?? 'unknown',
        input: decode<Record<string, unknown>>(attrs.input),
      });
    } else if (event.activityTaskStartedEventAttributes) {
      const attrs = event.activityTaskStartedEventAttributes;
      const activity = scheduled.get(attrs.scheduledEventId?.toString() ?? '');
      if ((attrs.attempt ?? 1) > 1) {
        out.push({
          at,
          kind: 'retry',
          step: stepOfActivity(activity?.type) ?? activity?.type,
          attempt: attrs.attempt,
          last_error: attrs.lastFailure?.message ?? null,
        });
      }
    } else if (event.activityTaskCompletedEventAttributes) {
      const attrs = event.activityTaskCompletedEventAttributes;
      const activity = scheduled.get(attrs.scheduledEventId?.toString() ?? '');
      const result = decode<Record<string, unknown>>(attrs.result);
      if (activity?.type === 'syncLeadToCrm') {
        out.push({ at, kind: 'crm_sync', version: activity.input?.version, created: result?.created, attempts: result?.attempt });
      } else if (activity?.type === 'sendLeadEmail') {
        out.push({ at, kind: 'email', template: activity.input?.template, message_id: result?.messageId, attempts: result?.attempt });
      }
    } else if (event.activityTaskFailedEventAttributes || event.activityTaskTimedOutEventAttributes) {
      const attrs = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes!;
      const activity = scheduled.get(attrs.scheduledEventId?.toString() ?? '');
      out.push({
        at,
        kind: 'failure',
        step: stepOfActivity(activity?.type) ?? activity?.type,
        error: attrs.failure?.cause?.message ?? attrs.failure?.message ?? 'failed',
      });
    } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
      out.push({ at, kind: 'continued_as_new' });
    }
  }
  return { events: out, previousRunId };
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
