// @temporalio/proto is CommonJS: plain Node has no named ESM export `temporal` (vitest's
// loader does, which is how a named import passed the API tests and failed in `npm start`).
import proto, { type temporal } from '@temporalio/proto';
import { z } from 'zod';
import { CRM_STATUSES, type CrmStatus } from '../domain/lead.js';
import { quote } from '../temporal/protocol.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import type { TemporalCalls } from '../temporal/calls.js';

const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/** How far back `last_minute` looks. */
export const LAST_MINUTE_MS = 60_000;

/**
 * A poller counts as live when it polled this recently. The server lists every poller it saw
 * in the last 5 minutes, so a worker that died minutes ago would still be listed; a live one
 * polls again at least every minute (a long poll ends after 60 s), seen on the dev server.
 */
export const LIVE_POLLER_WINDOW_MS = 90_000;

const count = z.number().int().min(0);
/** One task-queue type (workflow or activity tasks), from Temporal's approximate task-queue statistics. */
const QueueTypeStats = z.strictObject({
  backlog: count.meta({ description: 'tasks waiting for a worker (approximate)' }),
  backlog_age_s: z.number().min(0).meta({ description: 'how long the oldest waiting task has waited, in seconds' }),
  add_rate: z.number().min(0).meta({ description: 'tasks added per second (recent average)' }),
  dispatch_rate: z.number().min(0).meta({ description: 'tasks handed to workers per second (recent average)' }),
  pollers: count.meta({ description: 'workers polling this queue now (seen polling within the last 90 s)' }),
});
/** What GET /api/stats answers: the read below, as the API validates and documents it. */
export const StatsResponse = z.strictObject({
  at: z.iso.datetime(),
  task_queues: z.record(z.string(), z.strictObject({ workflow: QueueTypeStats, activity: QueueTypeStats })),
  leads: z.strictObject({
    by_crm_status: z.strictObject(Object.fromEntries(CRM_STATUSES.map((status) => [status, count])) as Record<(typeof CRM_STATUSES)[number], typeof count>),
    retrying: count.meta({ description: 'running leads whose CRM sync failed: transient failures repair on a backoff from CRM_RESYNC_INTERVAL_MS, refusals wait for a re-drive' }),
    failed: count.meta({ description: 'lead workflows that ended Failed or TimedOut' }),
  }),
  last_minute: z.strictObject({
    leads_accepted: count.meta({ description: 'lead workflows started in the last 60 s (new leads)' }),
    leads_synced: count.meta({ description: 'of those, how many the CRM has now' }),
  }),
});
export type Stats = z.infer<typeof StatsResponse>;
type QueueTypeStats = z.infer<typeof QueueTypeStats>;

export interface StatsOptions {
  namespace: string;
  /** Every task queue the workers poll: the lead queue and the CRM queue. */
  taskQueues: readonly string[];
  readTimeoutMs: number;
}

type LongLike = { toString(): string } | number | null | undefined;

function num(value: LongLike): number {
  return value === null || value === undefined ? 0 : Number(value.toString());
}

const LEADS = `WorkflowType = ${quote(leadWorkflow.name)}`;
const RUNNING = `ExecutionStatus = 'Running'`;
const crmStatusIs = (status: CrmStatus) => `${SA.crmStatus.name} = ${quote(status)}`;
const ENDED_FAILED = `${LEADS} AND ExecutionStatus IN ('Failed', 'TimedOut')`;

/** What the alert rules' watchdog reads of the leads (watchdog.ts). */
export interface LeadTrouble {
  /** Running leads whose CRM sync failed (`leads.retrying`). */
  retrying: number;
  /** Lead workflows that ended Failed or TimedOut (`leads.failed`). */
  failed: number;
}

/**
 * GET /api/stats: how far behind the workers are (backlog per task queue and type) and what
 * is failing (leads by CRM status), all of it asked of Temporal in parallel under one
 * deadline and through the API's TemporalCalls, so closing the connection can wait for it.
 */
export class StatsService {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly options: StatsOptions,
  ) {}

  async read(now = Date.now()): Promise<Stats> {
    const deadline = now + this.options.readTimeoutMs;
    const count = (query: string) => this.count(query, deadline);
    // StartTime has second precision in some visibility stores: a whole-second bound.
    const since = `StartTime > ${quote(new Date(Math.floor((now - LAST_MINUTE_MS) / 1000) * 1000).toISOString())}`;
    const [queues, byStatus, failed, accepted, synced] = await Promise.all([
      this.queues(deadline, now),
      // The server has no GROUP BY on a custom keyword attribute: one count per status.
      Promise.all(CRM_STATUSES.map(async (status) => [status, await count(`${LEADS} AND ${RUNNING} AND ${crmStatusIs(status)}`)] as const)),
      count(ENDED_FAILED),
      count(`${LEADS} AND ${since}`),
      count(`${LEADS} AND ${since} AND ${crmStatusIs('synced')}`),
    ]);
    const by_crm_status = Object.fromEntries(byStatus) as Record<CrmStatus, number>;
    return {
      at: new Date(now).toISOString(),
      task_queues: queues,
      leads: { by_crm_status, retrying: by_crm_status.failed, failed },
      last_minute: { leads_accepted: accepted, leads_synced: synced },
    };
  }

  /** `task_queues` alone: task-queue describes only, no visibility query (the watchdog's first read). */
  taskQueues(now = Date.now()): Promise<Stats['task_queues']> {
    return this.queues(now + this.options.readTimeoutMs, now);
  }

  /** `leads.retrying` and `leads.failed` alone: two visibility counts (the watchdog's second read). */
  async leadTrouble(now = Date.now()): Promise<LeadTrouble> {
    const deadline = now + this.options.readTimeoutMs;
    const [retrying, failed] = await Promise.all([this.count(`${LEADS} AND ${RUNNING} AND ${crmStatusIs('failed')}`, deadline), this.count(ENDED_FAILED, deadline)]);
    return { retrying, failed };
  }

  private async queues(deadline: number, now: number): Promise<Stats['task_queues']> {
    return Object.fromEntries(await Promise.all([...new Set(this.options.taskQueues)].map(async (name) => [name, await this.queue(name, deadline, now)] as const)));
  }

  private async queue(name: string, deadline: number, now: number): Promise<Stats['task_queues'][string]> {
    const [workflow, activity] = await Promise.all([
      this.describe(name, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, deadline, now),
      this.describe(name, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, deadline, now),
    ]);
    return { workflow, activity };
  }

  /**
   * The classic DescribeTaskQueue with reportStats: Temporal 1.32 fills `stats` (the
   * unversioned queue's backlog count, age and rates) and always lists `pollers`, of which
   * only the live ones count (LIVE_POLLER_WINDOW_MS).
   */
  private async describe(name: string, taskQueueType: temporal.api.enums.v1.TaskQueueType, deadline: number, now: number): Promise<QueueTypeStats> {
    const response = await this.calls.within(deadline, () =>
      this.calls.client.workflowService.describeTaskQueue({
        namespace: this.options.namespace,
        taskQueue: { name, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType,
        reportStats: true,
      }),
    );
    const stats = response.stats;
    const age = stats?.approximateBacklogAge;
    return {
      backlog: num(stats?.approximateBacklogCount),
      backlog_age_s: Math.round((num(age?.seconds) + (age?.nanos ?? 0) / 1e9) * 1000) / 1000,
      add_rate: stats?.tasksAddRate ?? 0,
      dispatch_rate: stats?.tasksDispatchRate ?? 0,
      pollers: livePollers(response.pollers ?? [], now),
    };
  }

  private async count(query: string, deadline: number): Promise<number> {
    const response = await this.calls.within(deadline, () =>
      this.calls.client.workflowService.countWorkflowExecutions({ namespace: this.options.namespace, query }),
    );
    return num(response.count);
  }

  /** Temporal reachable and answering (the watchdog's check, as GET /ready's). */
  ping(timeoutMs: number): Promise<boolean> {
    return this.calls.ping(timeoutMs);
  }

  /** Resolves once every Temporal call started here has settled (see TemporalCalls.drain). */
  drain(): Promise<void> {
    return this.calls.drain();
  }
}

/** The pollers seen within LIVE_POLLER_WINDOW_MS of `now` (one without a time counts: the server did not say). */
export function livePollers(pollers: readonly { lastAccessTime?: { seconds?: LongLike; nanos?: number | null } | null }[], now: number): number {
  return pollers.filter((p) => {
    const at = p.lastAccessTime;
    return !at || now - (num(at.seconds) * 1000 + (at.nanos ?? 0) / 1e6) <= LIVE_POLLER_WINDOW_MS;
  }).length;
}
