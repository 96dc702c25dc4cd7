import { createHash, randomBytes } from 'node:crypto';
import {
  type Client,
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { isoTimestamp, quote } from '../temporal/protocol.js';
import { automationRun } from '../workflows/index.js';
import type { AutomationCatalog, LoadedAutomation } from './loader.js';
import { automationRunId, leadRunsPrefix, parseRunId } from './ids.js';
import { shownDefinition } from './shown-definition.js';
import { verifyUnsubscribeToken } from './unsubscribe.js';
import { base32, leadWorkflowId } from '../domain/ids.js';
import {
  automationRunQuery,
  type AutomationRunInput,
  type AutomationRunSettings,
  type AutomationRunState,
  type RunStatus,
} from '../temporal/automation-messages.js';
import {
  AutomationDisabledError,
  AutomationNotFoundError,
  InvalidUnsubscribeLinkError,
  RunFinishedError,
  RunNotFoundError,
  RunNotRetryableError,
} from './errors.js';
import { LeadNotFoundError } from '../leads/errors.js';
import { TemporalCalls } from '../temporal/calls.js';
import { listExecutions } from '../temporal/visibility.js';

export interface AutomationServiceOptions {
  namespace: string;
  taskQueue: string;
  /** Settings of manually started runs (time scale, CRM queue, retries). */
  runSettings: AutomationRunSettings;
  queryTimeoutMs: number;
  writeTimeoutMs: number;
  unsubscribeSecret: string;
}

export type ReadSource = 'workflow' | 'history';
export type RunView = AutomationRunState & { read_source: ReadSource };

export type RunSummary = {
  run_id: string;
  automation_id: string;
  lead_id: string;
  definition_hash: string | null;
  trigger: string | null;
  status: RunStatus | 'terminated' | 'timed_out';
  started_at: string | null;
  finished_at: string | null;
};

const TEMPORAL_STATUS: Record<number, RunSummary['status']> = {
  1: 'running',
  2: 'completed',
  3: 'failed',
  4: 'cancelled',
  5: 'terminated',
  6: 'running', // continued as new (runs do not, but be total)
  7: 'timed_out',
};

/** Automation definitions and runs, as the API offers them; holds no state of its own. */
export class AutomationService {
  private readonly calls: TemporalCalls;
  private readonly client: Client;

  constructor(
    client: Client | TemporalCalls,
    private readonly catalog: AutomationCatalog,
    private readonly options: AutomationServiceOptions,
  ) {
    this.calls = client instanceof TemporalCalls ? client : new TemporalCalls(client);
    this.client = this.calls.client;
  }

  list() {
    return this.catalog.list().map(summary);
  }

  get(id: string) {
    const automation = this.find(id);
    return { ...summary(automation), definition: shownDefinition(automation.definition) };
  }

  /** Starts a run by hand. With an Idempotency-Key the run id is derived from it, so a retry gets the same run. */
  async startRun(leadId: string, automationId: string, idempotencyKey?: string) {
    const automation = this.find(automationId);
    if (!automation.definition.enabled) throw new AutomationDisabledError(automationId);
    const key = idempotencyKey
      ? base32(createHash('sha256').update(`manual:${leadId}:${automationId}:${idempotencyKey}`).digest(), 12)
      : base32(randomBytes(8), 12);
    const runId = automationRunId(leadId, automationId, key);
    const { id, hash, definition, templates } = automation;
    const input: AutomationRunInput = {
      leadId,
      automation: { id, hash, definition, templates },
      trigger: { event: 'manual', task_id: null },
      settings: this.options.runSettings,
    };
    return this.bounded(async () => {
      await this.assertLead(leadId);
      let deduplicated = false;
      try {
        await this.client.workflow.start(automationRun, {
          workflowId: runId,
          taskQueue: this.options.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          memo: { automation_id: id, lead_id: leadId, definition_hash: hash, trigger: 'manual' },
          staticSummary: `${id} for lead ${leadId} (manual, definition ${hash.slice(0, 12)})`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        deduplicated = true;
      }
      return { run_id: runId, automation_id: id, lead_id: leadId, definition_hash: hash, status: 'started' as const, deduplicated };
    });
  }

  /** A run's state: from the workflow (query) when a worker answers, else from Temporal's record of it. */
  async getRun(runId: string): Promise<RunView> {
    const handle = this.client.workflow.getHandle(runId);
    const description = await this.describeRun(runId);
    const status = TEMPORAL_STATUS[description.raw.workflowExecutionInfo?.status ?? 0];
    if (status === 'completed') {
      const state = (await this.bounded(() => handle.result())) as AutomationRunState;
      return { ...state, read_source: 'history' };
    }
    try {
      const state = await this.calls.within(Date.now() + this.options.queryTimeoutMs, () => handle.query(automationRunQuery));
      return { ...state, read_source: 'workflow' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
      // No worker answered: what Temporal itself knows, without the step list.
      const info = description.raw.workflowExecutionInfo;
      const memo = description.memo ?? {};
      const parsed = parseRunId(runId)!;
      return {
        run_id: runId,
        automation_id: parsed.automationId,
        automation_name: this.catalog.get(parsed.automationId)?.definition.name ?? parsed.automationId,
        definition_hash: String(memo.definition_hash ?? ''),
        lead_id: parsed.leadId,
        trigger: { event: (memo.trigger as AutomationRunInput['trigger']['event']) ?? 'manual', task_id: null },
        time_scale: this.options.runSettings.timeScale,
        status: status === 'terminated' || status === 'timed_out' ? 'failed' : (status ?? 'running'),
        current_step: null,
        steps: [],
        next_wake_up: null,
        stop_reason: status === 'cancelled' ? 'cancelled' : null,
        error: null,
        started_at: isoTimestamp(info?.startTime) ?? '',
        finished_at: isoTimestamp(info?.closeTime),
        read_source: 'history',
      };
    }
  }

  /** Requests cancellation: the run stops at once, in its wait or its current activity. */
  async cancelRun(runId: string): Promise<{ run_id: string; status: 'cancelling' }> {
    const description = await this.describeRun(runId);
    const status = TEMPORAL_STATUS[description.raw.workflowExecutionInfo?.status ?? 0] ?? 'running';
    if (status !== 'running') throw new RunFinishedError(runId, String(description.memo?.status ?? status));
    await this.bounded(() => this.client.workflow.getHandle(runId).cancel());
    return { run_id: runId, status: 'cancelling' };
  }

  /**
   * Runs needing an operator: `failed` (failed, timed out or terminated) from visibility;
   * `stuck`: running with an activity being retried (attempt 2 or more), each running run
   * described to tell, so a page can hold fewer items than `limit`. Runs of this deployment's
   * task queue only.
   */
  async problemRuns(page: { status: 'failed' | 'stuck'; limit: number; cursor?: string | undefined }) {
    const query = problemRunsQuery(this.options.taskQueue, page.status);
    const deadline = this.deadline();
    const listed = await listExecutions(this.calls, this.options.namespace, { query, limit: page.limit, cursor: page.cursor }, deadline, runSummary);
    if (page.status === 'failed') return { items: listed.items.map((summary) => ({ ...summary, retrying: null })), next_cursor: listed.next_cursor };
    const described = await Promise.all(
      listed.items.map(async (summary) => {
        const description = await this.calls.within(deadline, () => this.client.workflow.getHandle(summary.run_id).describe()).catch(() => undefined);
        const pending = (description?.raw.pendingActivities ?? []).find((a) => (a.attempt ?? 1) > 1);
        if (!pending) return undefined;
        return {
          ...summary,
          retrying: {
            activity: pending.activityType?.name ?? 'unknown',
            attempt: pending.attempt ?? 0,
            last_failure: pending.lastFailure?.message ?? null,
            next_attempt_at: isoTimestamp(pending.nextAttemptScheduleTime),
          },
        };
      }),
    );
    return { items: described.filter((item) => item !== undefined), next_cursor: listed.next_cursor };
  }

  /**
   * Retries a run that ended without completing: a fresh run with the same input (the
   * definition it was pinned to, its trigger and settings), under a new run id. With an
   * Idempotency-Key the new id is derived from it, so a repeated request finds the same run.
   */
  async retryRun(runId: string, idempotencyKey?: string) {
    const description = await this.describeRun(runId);
    const status = TEMPORAL_STATUS[description.raw.workflowExecutionInfo?.status ?? 0] ?? 'running';
    const retryable = ['failed', 'cancelled', 'terminated', 'timed_out'];
    if (!retryable.includes(status)) throw new RunNotRetryableError(runId, String(description.memo?.status ?? status));
    const parsed = parseRunId(runId)!;
    const key = idempotencyKey
      ? base32(createHash('sha256').update(`retry:${runId}:${idempotencyKey}`).digest(), 12)
      : base32(randomBytes(8), 12);
    const newRunId = automationRunId(parsed.leadId, parsed.automationId, key);
    return this.bounded(async () => {
      const history = await this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.options.namespace,
        execution: { workflowId: runId },
        maximumPageSize: 1,
      });
      const payload = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      if (!payload) throw new RunNotFoundError(runId);
      const input = defaultPayloadConverter.fromPayload<AutomationRunInput>(payload);
      let deduplicated = false;
      try {
        await this.client.workflow.start(automationRun, {
          workflowId: newRunId,
          taskQueue: this.options.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'FAIL',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          memo: { automation_id: parsed.automationId, lead_id: parsed.leadId, definition_hash: input.automation.hash, trigger: input.trigger.event, retry_of: runId },
          staticSummary: `${parsed.automationId} for lead ${parsed.leadId} (retry of ${runId})`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        deduplicated = true;
      }
      return { run_id: newRunId, retry_of: runId, status: 'started' as const, deduplicated };
    });
  }

  /** A lead's runs, newest first, from Temporal visibility (workflow id prefix `automation-<leadId>-`). */
  async leadRuns(leadId: string, page: { limit: number; cursor?: string | undefined }) {
    await this.bounded(() => this.assertLead(leadId));
    const query = `WorkflowType = ${quote(automationRun.name)} AND WorkflowId STARTS_WITH ${quote(leadRunsPrefix(leadId))}`;
    return listExecutions(this.calls, this.options.namespace, { query, limit: page.limit, cursor: page.cursor }, this.deadline(), runSummary);
  }

  /** Checks an unsubscribe link's token (the link is the credential); the route then opts the address out. */
  verifyUnsubscribeLink(leadId: string, token: string): void {
    if (!verifyUnsubscribeToken(this.options.unsubscribeSecret, leadId, token)) throw new InvalidUnsubscribeLinkError();
  }


  private find(id: string): LoadedAutomation {
    const automation = this.catalog.get(id);
    if (!automation) throw new AutomationNotFoundError(id);
    return automation;
  }

  private async assertLead(leadId: string): Promise<void> {
    try {
      // A lead's workflow runs for ever (it continues as new); a closed one was erased, and its
      // runs are the erasure's to delete: to clients the lead is gone (404), as for its other reads.
      const { status } = await this.client.workflow.getHandle(leadWorkflowId(leadId)).describe();
      if (status.name !== 'RUNNING') throw new LeadNotFoundError(leadId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(leadId);
      throw err;
    }
  }

  private async describeRun(runId: string) {
    return this.bounded(async () => {
      try {
        return await this.client.workflow.getHandle(runId).describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
        throw err;
      }
    });
  }

  private bounded<T>(fn: () => Promise<T>): Promise<T> {
    return this.calls.within(this.deadline(), fn);
  }

  private deadline(): number {
    return Date.now() + this.options.writeTimeoutMs;
  }
}

function summary(automation: LoadedAutomation) {
  const { definition } = automation;
  return {
    id: automation.id,
    name: definition.name,
    description: definition.description ?? null,
    enabled: definition.enabled,
    trigger: definition.trigger,
    steps: definition.steps.length,
    templates: Object.keys(automation.templates).sort(),
    definition_hash: automation.hash,
    file: automation.file,
  };
}

/** The visibility query of failed runs, or of running runs (the candidates for `stuck`): the Web UI's saved views. */
export function problemRunsQuery(taskQueue: string, status: 'failed' | 'stuck'): string {
  const which = status === 'failed' ? `ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')` : `ExecutionStatus = 'Running'`;
  return `WorkflowType = ${quote(automationRun.name)} AND TaskQueue = ${quote(taskQueue)} AND ${which}`;
}

function runSummary(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo): RunSummary | undefined {
  const runId = execution.execution?.workflowId ?? '';
  const parsed = parseRunId(runId);
  if (!parsed) return undefined;
  const memo: Record<string, unknown> = {};
  for (const [key, payload] of Object.entries(execution.memo?.fields ?? {})) {
    try {
      memo[key] = defaultPayloadConverter.fromPayload(payload);
    } catch {
      // not ours
    }
  }
  const temporalStatus = TEMPORAL_STATUS[execution.status ?? 0] ?? 'running';
  // The run writes its final status (`stopped` is a Temporal completion) to its memo.
  const status = temporalStatus === 'completed' && typeof memo.status === 'string' ? (memo.status as RunStatus) : temporalStatus;
  return {
    run_id: runId,
    automation_id: parsed.automationId,
    lead_id: parsed.leadId,
    definition_hash: typeof memo.definition_hash === 'string' ? memo.definition_hash : null,
    trigger: typeof memo.trigger === 'string' ? memo.trigger : null,
    status,
    started_at: isoTimestamp(execution.startTime),
    finished_at: isoTimestamp(execution.closeTime),
  };
}
