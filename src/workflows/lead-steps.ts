import { ActivityFailure, ApplicationFailure, metricMeter, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CrmStatus } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';
import { isPermanentFailure } from './lead-repair.js';
import { now, updateStep, type LeadEntity } from './lead-state.js';
import type { LeadWorkflowSettings } from '../temporal/lead-messages.js';

interface Outcome {
  ok: boolean;
  attempts: number;
  error: string | null;
}

/** The activities a lead's workflow runs, with its retry settings. Creating them emits no command. */
function leadActivities(settings: LeadWorkflowSettings) {
  const retry = {
    maximumAttempts: settings.maxAttempts,
    initialInterval: settings.initialIntervalMs,
    maximumInterval: settings.maxIntervalMs,
    backoffCoefficient: 2,
  };
  const { processLead } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '10s',
    retry: { ...retry, nonRetryableErrorTypes: ['InvalidLead'] },
  });
  const crm = (summary: string) =>
    proxyActivities<Activities>({
      taskQueue: settings.crmTaskQueue,
      startToCloseTimeout: settings.crmActivityTimeoutMs ?? 60_000,
      retry: { ...retry, nonRetryableErrorTypes: ['CrmRejected', 'CrmConflict'] },
      summary,
    });
  const mail = (summary: string) =>
    proxyActivities<Activities>({
      startToCloseTimeout: '60s',
      retry: { ...retry, nonRetryableErrorTypes: ['EmailRejected'] },
      summary,
    });
  return { processLead, crm, mail };
}

/**
 * The steps of a lead's batch (lead_process, crm_update, email_send) and of its repair: each
 * runs its activity and records the outcome in the lead's state and its tasks' steps.
 */
export class LeadSteps {
  private readonly activities: ReturnType<typeof leadActivities>;

  constructor(
    private readonly entity: LeadEntity,
    private readonly settings: LeadWorkflowSettings,
    /** Generation 5: permanent failures are marked dead letters (see lead-repair.ts). */
    private readonly deadLetters = false,
  ) {
    this.activities = leadActivities(settings);
  }

  /**
   * lead_process: normalize and score the merged state once for the whole batch, and show the
   * address's consent (`optOut`: a change of the batch opted out, which suppresses the address).
   */
  async normalize(batchTasks: TaskState[], consent?: { optOut: boolean; unchanged: boolean }): Promise<void> {
    const { entity } = this;
    updateStep(batchTasks, 'lead_process', { status: 'running', started_at: now() });
    try {
      const processed = await this.activities.processLead({
        leadId: entity.leadId,
        fields: entity.fields!,
        optOut: consent?.optOut,
        ...(consent?.unchanged ? { consentUnchanged: true } : {}),
      });
      entity.setProcessed(processed.fields, processed.score);
      updateStep(batchTasks, 'lead_process', { status: 'completed', attempts: processed.attempt, finished_at: now() });
    } catch (err) {
      const error = describeFailure(err);
      updateStep(batchTasks, 'lead_process', { status: 'failed', last_error: error, finished_at: now() });
    }
    entity.snapshotProcessed();
  }

  /**
   * crm_update of a batch of CRM changes: the CRM holds them already, so writing them back
   * would only echo them (and a CRM that sends a webhook per write would echo back again).
   * A CRM that was in step stays in step at the new version.
   */
  skipCrmEcho(batchTasks: TaskState[], versionBefore: number): void {
    const { crm } = this.entity;
    if (crm.status === 'synced' && crm.synced_version === versionBefore) {
      this.entity.crm = { ...crm, synced_version: this.entity.lead.version };
    }
    updateStep(batchTasks, 'crm_update', { status: 'skipped', note: 'the change came from the CRM', finished_at: now() });
  }

  /** Every step of a batch that changed nothing. */
  skipAll(batchTasks: TaskState[], note: string): void {
    for (const name of ['lead_process', 'crm_update', 'email_send'] as const) updateStep(batchTasks, name, { status: 'skipped', note, finished_at: now() });
  }

  /** crm_update: one write carrying the latest version covers every change in the batch. */
  async crmUpdate(batchTasks: TaskState[]): Promise<void> {
    updateStep(batchTasks, 'crm_update', { status: 'running', started_at: now() });
    const synced = await this.syncCrm();
    updateStep(batchTasks, 'crm_update', {
      status: synced.ok ? 'completed' : 'failed',
      attempts: synced.attempts,
      last_error: synced.error,
      finished_at: now(),
    });
  }

  /** email_send: the welcome email, once per lead, for the change that created it. */
  async welcomeEmail(batchTasks: TaskState[]): Promise<void> {
    const creator = batchTasks.filter((t) => t.steps.some((s) => s.name === 'email_send'));
    if (creator.length === 0) return;
    if (this.entity.fields?.unsubscribed) {
      this.entity.welcome = 'skipped';
      updateStep(creator, 'email_send', { status: 'skipped', note: 'lead is unsubscribed', finished_at: now() });
      return;
    }
    updateStep(creator, 'email_send', { status: 'running', started_at: now() });
    const sent = await this.sendWelcome();
    updateStep(creator, 'email_send', {
      status: sent.ok ? 'completed' : 'failed',
      attempts: sent.attempts,
      last_error: sent.error,
      finished_at: now(),
    });
  }

  /**
   * After a failed sync or welcome email, try again later even if no new change arrives.
   * `transient`: the repair timer's, which leaves dead letters to a re-drive or a new change.
   */
  async repair(scope: 'all' | 'transient' = 'all'): Promise<void> {
    const { entity } = this;
    const all = scope === 'all';
    if (entity.crm.status === 'failed' && (all || !entity.crm.permanent)) await this.syncCrm();
    if (entity.welcome === 'failed' && (all || !entity.welcomePermanent) && !entity.fields?.unsubscribed) await this.sendWelcome();
  }

  private async syncCrm(): Promise<Outcome> {
    const { entity } = this;
    // Exactly what processedLeadQuery shows for this version.
    const lead = entity.processedLead();
    const target = lead.version;
    const { permanent: _refused, ...crm } = entity.crm;
    entity.crm = { ...crm, status: 'syncing' as CrmStatus };
    try {
      const result = await this.activities.crm(`crm v${target}`).syncLeadToCrm({ leadId: entity.leadId, version: target, lead });
      entity.crm = { status: 'synced', synced_version: Math.max(entity.crm.synced_version, target) };
      return { ok: true, attempts: result.attempt, error: null };
    } catch (err) {
      const error = describeFailure(err);
      entity.crm = { status: 'failed', synced_version: entity.crm.synced_version, last_error: error };
      if (this.deadLetters && isPermanentFailure(err)) entity.crm.permanent = true;
      // Its attempts are spent; the SDK drops the count on replay.
      metricMeter.createCounter('leads_crm_sync_failed', undefined, 'Lead CRM syncs that spent their attempts').add(1);
      return { ok: false, attempts: failedAttempts(err, this.settings.maxAttempts), error };
    }
  }

  private async sendWelcome(): Promise<Outcome> {
    const { entity } = this;
    try {
      const result = await this.activities.mail('email: welcome').sendLeadEmail({
        leadId: entity.leadId,
        template: 'welcome',
        lead: entity.view()!,
      });
      // Skipped at the last moment: the address was suppressed after the lead was processed.
      entity.welcome = result.skipped ? 'skipped' : 'sent';
      entity.welcomePermanent = false;
      return { ok: true, attempts: result.attempt, error: null };
    } catch (err) {
      entity.welcome = 'failed';
      entity.welcomePermanent = this.deadLetters && isPermanentFailure(err);
      return { ok: false, attempts: failedAttempts(err, this.settings.maxAttempts), error: describeFailure(err) };
    }
  }
}

/**
 * After a batch that moved the lead's email: ends its claims on the emails it left (those of
 * the lead before the batch and of the batch's changes, but its email now and those of
 * changes still pending). Best effort: a claim left behind is found stale by the next write
 * that needs its email (src/leads/lead-writes.ts).
 */
export async function releaseLeftEmails(settings: LeadWorkflowSettings, leadId: string, left: string[]): Promise<void> {
  if (left.length === 0) return;
  const { releaseEmailClaims } = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: settings.maxAttempts, initialInterval: settings.initialIntervalMs, maximumInterval: settings.maxIntervalMs },
    summary: 'release email claims',
  });
  try {
    await releaseEmailClaims({ leadId, emails: left });
  } catch {
    // Recorded in history as the activity's failure; nothing else depends on it.
  }
}

/** An activity failure as `Type: message`, for a task step's last_error (also the erasure's). */
export function describeFailure(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure && cause.type) return `${cause.type}: ${cause.message}`;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Activities put their attempt number in their failures' details (see activities/failures.ts). */
function failedAttempts(err: unknown, maxAttempts: number): number {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as { attempt?: unknown } | undefined) : undefined;
  return typeof detail?.attempt === 'number' ? detail.attempt : maxAttempts;
}
