import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

// What one lead costs Temporal, counted from real histories: events, workflow tasks,
// activity tasks, markers and visibility writes (the start, every search-attribute upsert,
// every memo change). A lead made by seed-mix is one create and one update.

const T = proto.temporal.api.enums.v1.EventType;

export interface LeadCost {
  leads: number;
  /** Per lead, averaged over the leads counted. */
  events: number;
  workflowTasks: number;
  activityTasks: number;
  localActivityMarkers: number;
  visibilityWrites: number;
  signals: number;
}

export type HistoryEventTypes = ReadonlyArray<number | null | undefined>;

/** The cost of one lead's history (every run of it, continue-as-new included). */
export function costOfHistory(types: HistoryEventTypes, markerNames: readonly string[] = []): Omit<LeadCost, 'leads'> {
  const count = (t: number) => types.filter((x) => x === t).length;
  return {
    events: types.length,
    workflowTasks: count(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
    activityTasks: count(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    localActivityMarkers: markerNames.filter((n) => n === 'core_local_activity').length,
    visibilityWrites:
      count(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) +
      count(T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) +
      count(T.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED) +
      count(T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
    signals: count(T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
  };
}

const COST_FIELDS = ['events', 'workflowTasks', 'activityTasks', 'localActivityMarkers', 'visibilityWrites', 'signals'] as const;

/** One figure per field from the costs given (their mean, their median, …). */
export function combineCosts(
  costs: ReadonlyArray<Omit<LeadCost, 'leads'>>,
  combine: (values: number[]) => number,
  leads: number,
): LeadCost {
  const out = { leads } as LeadCost;
  for (const field of COST_FIELDS) out[field] = costs.length ? combine(costs.map((c) => c[field])) : 0;
  return out;
}

export function averageCost(costs: ReadonlyArray<Omit<LeadCost, 'leads'>>): LeadCost {
  return combineCosts(costs, (values) => values.reduce((a, b) => a + b, 0) / values.length, costs.length);
}

/** Reads the histories of these leads (workflow `lead-<id>`) from the server at `address`. */
export async function measureLeadCost(address: string, leadIds: readonly string[], namespace = 'default'): Promise<LeadCost> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const costs: Array<Omit<LeadCost, 'leads'>> = [];
    for (const id of leadIds) {
      const types: Array<number | null | undefined> = [];
      const markers: string[] = [];
      // Newest run first; earlier runs through continuedExecutionRunId links.
      let runId: string | undefined;
      for (let run = 0; run < 20; run++) {
        const history = await client.workflow.getHandle(`lead-${id}`, runId).fetchHistory();
        let previous: string | undefined;
        for (const e of history.events ?? []) {
          types.push(e.eventType);
          if (e.markerRecordedEventAttributes?.markerName) markers.push(e.markerRecordedEventAttributes.markerName);
          previous ??= e.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
        }
        if (!previous) break;
        runId = previous;
      }
      costs.push(costOfHistory(types, markers));
    }
    return averageCost(costs);
  } finally {
    await connection.close();
  }
}
