import type { Client } from '@temporalio/client';
import { AddressBook, type Suppression } from '../identity/address-book.js';
import { EmailKeys, emailHashSecretsOf } from '../identity/email-key.js';
import type { ChangeOp, LeadInput, LeadPatch, LeadView } from '../domain/lead.js';
import type { TaskState } from '../domain/task.js';
import { crmLeadPatch, type CrmChangeEvent, type CrmChangeOutcome } from '../crm-inbound/changes.js';
import type { LeadWorkflowSettings } from '../temporal/lead-messages.js';
import type { LeadEvent } from './history.js';
import { listLeads, type ListFilter } from './lead-list.js';
import { LeadRedrive, type FailedLead, type FailedLeadFilter, type FailureState, type RedriveJob, type RedriveReceipt } from './lead-redrive.js';
import { LeadReads, type ReadSource } from './lead-reads.js';
import type { BatchItem } from './batch-writes.js';
import { LeadWrites, type BatchOptions, type CreateReceipt, type WriteReceipt } from './lead-writes.js';
import { issuedTaskOp, leadIdOfTask } from '../domain/ids.js';
import { LeadErasedError, LeadNotFoundError } from './errors.js';
import { LeadConsent, type ConsentReceipt } from './lead-consent.js';
import { LeadDataRequests, type ErasureReceipt, type LeadExport } from './lead-data-requests.js';
import { TemporalCalls } from '../temporal/calls.js';

export type { ListFilter } from './lead-list.js';
export type { ReadSource } from './lead-reads.js';
export type { FailedLead, FailedLeadFilter, FailureState, RedriveJob, RedriveReceipt } from './lead-redrive.js';
export type { BatchOptions, CreateReceipt, WriteReceipt } from './lead-writes.js';
export type { ConsentReceipt } from './lead-consent.js';
export type { ErasureReceipt, LeadExport } from './lead-data-requests.js';

export interface LeadServiceOptions {
  namespace: string;
  taskQueue: string;
  settings: LeadWorkflowSettings;
  /** How long a read waits for a worker to answer a query before falling back to history. */
  queryTimeoutMs: number;
  /** Upper bound on a write's round trips to Temporal; past it the API answers 503. */
  writeTimeoutMs: number;
  /**
   * Upper bound on a whole read (query, then history and describe when no worker answers);
   * past it the API answers 503. Default: queryTimeoutMs + writeTimeoutMs.
   */
  readTimeoutMs?: number;
  /**
   * How long a read waits for a running workflow task to end before answering without the
   * changes Temporal may be holding back until then (see lead-tail.ts). Default 1000 ms.
   */
  settleMs?: number;
  /** Email keys (EMAIL_HASH_SECRETS); default: the development secret. */
  emailKeys?: EmailKeys;
}

/**
 * Every lead operation the API offers, as the routes see them: writes (lead-writes.ts),
 * reads (lead-reads.ts) and listing (lead-list.ts), over one set of deadline-bound Temporal
 * calls. Holds no lead state: any API process can serve any request.
 */
export class LeadService {
  private readonly calls: TemporalCalls;
  private readonly writes: LeadWrites;
  private readonly reads: LeadReads;
  private readonly redrive: LeadRedrive;
  private readonly consent: LeadConsent;
  private readonly dataRequests: LeadDataRequests;
  /** Claims and suppressions of email addresses (src/identity). */
  readonly addresses: AddressBook;

  /** Pass the TemporalCalls other services use too, so drain() waits for theirs as well. */
  constructor(
    client: Client | TemporalCalls,
    private readonly options: LeadServiceOptions,
  ) {
    this.calls = client instanceof TemporalCalls ? client : new TemporalCalls(client);
    const keys = options.emailKeys ?? new EmailKeys(emailHashSecretsOf(undefined));
    this.addresses = new AddressBook(this.calls.client, { taskQueue: options.taskQueue, keys });
    const readTimeoutMs = options.readTimeoutMs ?? options.queryTimeoutMs + options.writeTimeoutMs;
    this.reads = new LeadReads(this.calls, { ...options, readTimeoutMs });
    this.writes = new LeadWrites(this.calls, this.addresses, (id) => this.currentEmail(id), options);
    this.consent = new LeadConsent(this.calls, this.addresses, async (id) => (await this.reads.get(id)).lead, options.writeTimeoutMs);
    this.dataRequests = new LeadDataRequests(this.calls, this.addresses, {
      taskQueue: options.taskQueue,
      crmTaskQueue: options.settings.crmTaskQueue,
      writeTimeoutMs: options.writeTimeoutMs,
    });
    this.redrive = new LeadRedrive(this.calls, options);
  }

  create(fields: LeadInput, idempotencyKey?: string): Promise<WriteReceipt & { deduplicated: boolean }> {
    return this.writes.create(fields, idempotencyKey);
  }

  /** The valid leads of a batch (lead-batch.ts), in its order; one Idempotency-Key claim for the whole body. */
  createMany(items: readonly BatchItem[], options?: BatchOptions): Promise<CreateReceipt[]> {
    return this.writes.createMany(items, options);
  }

  update(id: string, op: Exclude<ChangeOp, 'create' | 'consent'>, fields: LeadInput | LeadPatch, idempotencyKey?: string): Promise<WriteReceipt> {
    return this.unlessErased(id, () => this.writes.update(id, op, fields, idempotencyKey));
  }

  get(id: string): Promise<{ lead: LeadView; source: ReadSource }> {
    return this.unlessErased(id, () => this.reads.get(id));
  }

  async task(taskId: string): Promise<{ task: TaskState; source: ReadSource }> {
    const leadId = leadIdOfTask(taskId);
    if (leadId && issuedTaskOp(taskId) === 'erase') {
      return { task: await this.dataRequests.erasureTask(leadId, taskId, this.reads.deadline()), source: 'workflow' };
    }
    return this.reads.task(taskId);
  }

  /** Erases the lead everywhere (GDPR Art. 17): 202 with a task to follow; 410 once it is gone. */
  async erase(id: string): Promise<ErasureReceipt> {
    const { lead } = await this.get(id);
    return this.dataRequests.erase(lead);
  }

  /** Everything the service holds about the lead (GDPR Art. 15). */
  async export(id: string): Promise<LeadExport> {
    const { lead } = await this.get(id);
    const [address, history] = await Promise.all([this.dataRequests.addressState(lead), this.history(id)]);
    return { exported_at: new Date().toISOString(), lead, ...address, crm: lead.crm, history };
  }

  /** Opts the lead's address out; a second opt-out changes nothing. */
  optOut(id: string, source: string): Promise<ConsentReceipt> {
    return this.unlessErased(id, () => this.consent.optOut(id, source));
  }

  /** Lifts the address's suppression on its own renewed consent, given at `source`. */
  resubscribe(id: string, source: string): Promise<ConsentReceipt> {
    return this.unlessErased(id, () => this.consent.resubscribe(id, source));
  }

  /** A bounce or complaint for `email` (POST /webhooks/email-events). */
  addressSuppressed(email: string, suppression: Suppression): Promise<{ fresh: boolean }> {
    return this.consent.addressSuppressed(email, suppression);
  }

  /**
   * Changes made in the CRM, oldest first: each becomes a `crm` change of its lead (applied in
   * order, never written back). Fields a lead cannot hold are left out, a change with none
   * left is skipped, and so is a lead this service does not have.
   */
  async fromCrm(events: CrmChangeEvent[]): Promise<CrmChangeOutcome> {
    const outcome: CrmChangeOutcome = { accepted: 0, unknown_leads: 0, ignored: 0, task_ids: [] };
    for (const event of [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt))) {
      const fields = crmLeadPatch(event.fields);
      if (!fields) {
        outcome.ignored++;
        continue;
      }
      const receipt = await this.writes.fromCrm({ ...event, fields });
      if (receipt === 'unknown') outcome.unknown_leads++;
      else {
        outcome.accepted++;
        outcome.task_ids.push(receipt.task_id);
      }
    }
    return outcome;
  }

  /** A lead that is not found because it was erased: LeadErasedError, not LeadNotFoundError. */
  private async unlessErased<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof LeadNotFoundError && (await this.dataRequests.erased(id, this.reads.deadline()).catch(() => false))) {
        throw new LeadErasedError(id);
      }
      throw err;
    }
  }

  /** The same read as task(), its Temporal calls cancelled when `signal` aborts (a live stream whose client left). */
  taskUntil(taskId: string, signal: AbortSignal): Promise<{ task: TaskState; source: ReadSource }> {
    return this.calls.cancellable(signal, () => this.reads.task(taskId));
  }

  async list(filter: ListFilter): Promise<{ items: LeadView[]; next_cursor: string | null }> {
    if (filter.email) return { items: await this.byEmail(filter.email, filter.stage), next_cursor: null };
    return listLeads(this.calls, { namespace: this.options.namespace, taskQueue: this.options.taskQueue }, filter, this.reads.deadline());
  }

  /** The lead that holds `email` now (its claim), as a read shows it; none when it shows another email. */
  private async byEmail(email: string, stage: string | undefined): Promise<LeadView[]> {
    const deadline = this.reads.deadline();
    const claim = await this.calls.within(deadline, () => this.addresses.holder(email));
    if (!claim) return [];
    try {
      const { lead } = await this.reads.get(claim.leadId);
      return lead.email === email && (!stage || lead.stage === stage) ? [lead] : [];
    } catch (err) {
      if (err instanceof LeadNotFoundError) return [];
      throw err;
    }
  }

  /** The email lead `id` shows now, pending changes included; null when there is no such lead. */
  private async currentEmail(id: string): Promise<string | null> {
    try {
      return (await this.reads.get(id)).lead.email;
    } catch (err) {
      if (err instanceof LeadNotFoundError) return null;
      throw err;
    }
  }

  async history(id: string): Promise<LeadEvent[]> {
    // The erased lead's history is readable until the erasure deletes it: not to clients.
    if (await this.dataRequests.erased(id, this.reads.deadline())) throw new LeadErasedError(id);
    return this.reads.history(id);
  }

  /** Leads whose CRM sync failed, waiting for their repair or being retried now (lead-redrive.ts). */
  async failed(
    filter: FailedLeadFilter & { state?: FailureState | undefined; limit: number; cursor?: string | undefined },
  ): Promise<{ items: FailedLead[]; next_cursor: string | null }> {
    const deadline = this.reads.deadline();
    return this.redrive.failed(await this.withHolder(filter, deadline), deadline);
  }

  /** Re-drives one lead's failed CRM sync or welcome email now (the update, or the signal when no worker answers). */
  async retry(id: string): Promise<RedriveReceipt> {
    const deadline = this.writeDeadline();
    await this.liftRejection(id, deadline);
    return this.redrive.retry(id, deadline);
  }

  /**
   * A mail server's refusal suppressed the address (reason `rejected`) so nothing mails it by
   * itself; an operator's re-drive is the explicit "try again", so it lifts that suppression
   * (and only that one: an opt-out, bounce, complaint or erasure stands).
   */
  private async liftRejection(id: string, deadline: number): Promise<void> {
    const { lead } = await this.get(id);
    await this.consent.liftRejection(lead, deadline);
  }

  /** Re-drives every failed lead the filter matches (a Temporal batch operation). */
  async retryMany(filter: FailedLeadFilter, idempotencyKey?: string): Promise<{ job_id: string; matched: number; deduplicated: boolean }> {
    const deadline = this.writeDeadline();
    return this.redrive.retryMany(await this.withHolder(filter, deadline), idempotencyKey, deadline);
  }

  /** A filter by email goes by the lead that holds the email now. */
  private async withHolder<F extends FailedLeadFilter>(filter: F, deadline: number): Promise<F> {
    if (!filter.email) return filter;
    const claim = await this.calls.within(deadline, () => this.addresses.holder(filter.email!));
    return { ...filter, holder: claim?.leadId ?? null };
  }

  redriveJob(jobId: string): Promise<RedriveJob> {
    return this.redrive.job(jobId, this.reads.deadline());
  }

  private writeDeadline(): number {
    return Date.now() + this.options.writeTimeoutMs;
  }

  /** Resolves once every Temporal call started here has settled (see TemporalCalls.drain). */
  drain(): Promise<void> {
    return this.calls.drain();
  }

  /** Temporal reachable and answering: used by GET /ready. */
  ping(timeoutMs: number): Promise<boolean> {
    return this.calls.ping(timeoutMs);
  }
}
