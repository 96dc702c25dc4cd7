// @temporalio/proto is CommonJS: plain Node has no named ESM export `temporal` (vitest's
// loader does, which is how a named import passed the API tests and failed in `npm start`).
import proto, { type temporal } from '@temporalio/proto';
import { CRM_STATUSES, type CrmStatus } from '../domain/lead.js';
import { quote } from '../temporal/protocol.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import type { TemporalCalls } from './temporal-calls.js';

const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/** One task-queue type's backlog, from Temporal's own (approximate) task-queue statistics. */
export interface QueueTypeStats {
  backlog: number;
  backlog_age_s: number;
  add_rate: number;
  dispatch_rate: number;
  pollers: number;
}

export interface Stats {
  at: string;
  /** By task queue name: workflow tasks and activity tasks. */
  task_queues: Record<string, { workflow: QueueTypeStats; activity: QueueTypeStats }>;
  /** Running leads by their CRM sync status (visibility counts, namespace-wide). */
  leads_by_crm_status: Record<CrmStatus, number>;
}

export interface StatsOptions {
  namespace: string;
  /** The lead task queue and the CRM task queue. */
  taskQueues: readonly string[];
  readTimeoutMs: number;
}

type LongLike = { toString(): string } | number | null | undefined;

function num(value: LongLike): number {
  return value === null || value === undefined ? 0 : Number(value.toString());
}

/**
 * GET /api/stats: how far behind the workers are (backlog per task queue and type) and what
 * is failing (leads by CRM status), all of it asked of Temporal in parallel under one deadline.
 */
export class StatsService {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly options: StatsOptions,
  ) {}

  async read(): Promise<Stats> {
    const deadline = Date.now() + this.options.readTimeoutMs;
    const queues = [...new Set(this.options.taskQueues)];
    const [described, counts] = await Promise.all([
      Promise.all(
        queues.map(async (name) => {
          const [workflow, activity] = await Promise.all([
            this.describe(name, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, deadline),
            this.describe(name, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, deadline),
          ]);
          return [name, { workflow, activity }] as const;
        }),
      ),
      Promise.all(CRM_STATUSES.map(async (status) => [status, await this.countLeads(status, deadline)] as const)),
    ]);
    return {
      at: new Date().toISOString(),
      task_queues: Object.fromEntries(described),
      leads_by_crm_status: Object.fromEntries(counts) as Record<CrmStatus, number>,
    };
  }

  /**
   * The classic DescribeTaskQueue with reportStats: Temporal 1.32 fills `stats` (the
   * unversioned queue's backlog count, age and rates) and always lists `pollers`.
   */
  private async describe(name: string, taskQueueType: temporal.api.enums.v1.TaskQueueType, deadline: number): Promise<QueueTypeStats> {
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
      pollers: response.pollers?.length ?? 0,
    };
  }

  /** GROUP BY is only supported on ExecutionStatus by the server, so one count per status. */
  private async countLeads(status: CrmStatus, deadline: number): Promise<number> {
    const query = `WorkflowType = ${quote(leadWorkflow.name)} AND ExecutionStatus = 'Running' AND ${SA.crmStatus.name} = ${quote(status)}`;
    const response = await this.calls.within(deadline, () =>
      this.calls.client.workflowService.countWorkflowExecutions({ namespace: this.options.namespace, query }),
    );
    return num(response.count);
  }
}
