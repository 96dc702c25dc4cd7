import { WorkflowNotFoundError } from '@temporalio/client';
import type { ChangeOp, LeadChange, LeadInput, LeadPatch } from '../domain/lead.js';
import { leadWorkflowId, newLeadId, newTaskId, stableStringify } from '../domain/ids.js';
import type { AddressBook, EmailClaim } from '../identity/address-book.js';
import { LEAD_WORKFLOW_GENERATION, leadChangeSignal, type LeadWorkflowInput, type LeadWorkflowSettings } from '../temporal/lead-messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import { leadWorkflow } from '../workflows/index.js';
import { EmailTakenError, LeadNotFoundError } from './errors.js';
import { claimIdempotencyKey } from './idempotency.js';
import { BATCH_WRITE_CONCURRENCY, batchItemKey, inLeadOrder, type BatchItem } from './batch-writes.js';
import type { TemporalCalls } from '../temporal/calls.js';

/** The email a lead shows now, counting changes accepted but not yet applied; null when there is no such lead. */
export type CurrentEmail = (leadId: string) => Promise<string | null>;

export interface LeadWriteOptions {
  taskQueue: string;
  settings: LeadWorkflowSettings;
  /** Upper bound on a write's round trips to Temporal; past it the API answers 503. */
  writeTimeoutMs: number;
}

export interface WriteReceipt {
  id: string;
  task_id: string;
  status: 'queued';
}

export type CreateReceipt = WriteReceipt & { deduplicated: boolean };

export interface BatchOptions {
  /** The request's Idempotency-Key and the body it is claimed for. */
  idempotency?: { key: string; body: unknown };
  /** How long the whole batch may take. Default: the write timeout. */
  budgetMs?: number;
}

/**
 * Lead writes as Temporal calls: a create starts the lead's entity workflow (or, for an
 * email already known, signals it); every other write signals it. Acknowledged once
 * Temporal has recorded it, so an accepted write survives any process that fails after.
 */
export class LeadWrites {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly addresses: AddressBook,
    private readonly currentEmail: CurrentEmail,
    private readonly options: LeadWriteOptions,
  ) {}

  async create(fields: LeadInput, idempotencyKey?: string): Promise<CreateReceipt> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    if (idempotencyKey) await this.claim({ key: idempotencyKey, scope: 'POST /api/leads', body: fields }, deadline);
    return this.createLead(fields, idempotencyKey, deadline);
  }

  /**
   * The creates of POST /api/leads/batch, answered in the order of `items`. With a key, one
   * claim for the whole body; each item's task id derives from the key and the item's place
   * in the request, so a retried batch gets the same ids and the workflows ignore the changes
   * they already hold. Each Temporal call is bounded by the write timeout, as a single
   * write's is, and none runs past the batch's budget (500 creates can take longer than one
   * write timeout on a busy server).
   *
   * All or error: if any write fails (Temporal did not confirm it in time) the whole request
   * fails with that error, a 503, even though other items may have landed. A partial 202
   * would leave the client to retry item by item; a 503 makes it retry the batch, which with
   * its Idempotency-Key applies each lead exactly once.
   */
  async createMany(items: readonly BatchItem[], options: BatchOptions = {}): Promise<CreateReceipt[]> {
    const batchDeadline = Date.now() + (options.budgetMs ?? this.options.writeTimeoutMs);
    const deadline = () => Math.min(Date.now() + this.options.writeTimeoutMs, batchDeadline);
    const { idempotency } = options;
    if (idempotency) await this.claim({ key: idempotency.key, scope: 'POST /api/leads/batch', body: idempotency.body }, deadline());
    return inLeadOrder(
      items,
      // Items of one email go in order, one after the other: the first claims it, the rest merge.
      (item) => item.fields.email,
      BATCH_WRITE_CONCURRENCY,
      (item) => this.createLead(item.fields, idempotency && batchItemKey(idempotency.key, item.index), deadline()),
    );
  }

  /**
   * Claims the email for a new lead and starts it, or merges into the lead that holds the email
   * (a duplicate create). The claim decides, so concurrent creates of one email from any API
   * process land on one lead. `taskKey` makes the task id a retry's (an Idempotency-Key).
   */
  private createLead(fields: LeadInput, taskKey: string | undefined, deadline: number): Promise<CreateReceipt> {
    return this.calls.within(deadline, async () => {
      const candidate = newLeadId();
      let outcome = await this.addresses.claim(fields.email, candidate, newTaskId(candidate, 'create', taskKey));
      if (!outcome.fresh && (await this.isStale(outcome.claim, fields.email, 'create'))) {
        await this.addresses.releaseClaim(fields.email, outcome.claim, `stale: lead ${outcome.claim.leadId} no longer has this email`);
        outcome = await this.addresses.claim(fields.email, candidate, newTaskId(candidate, 'create', taskKey));
      }
      const id = outcome.claim.leadId;
      const taskId = newTaskId(id, 'create', taskKey);
      if (fields.unsubscribed === true) await this.optOut(fields.email);
      const change = newChange(taskId, 'create', fields);
      try {
        await this.startOrSignal(id, change, fields);
      } catch (err) {
        if (outcome.fresh) await this.releaseQuietly(fields.email, id);
        throw err;
      }
      // A retry of the request that created the lead gets the answer it got: not a duplicate.
      const deduplicated = !outcome.fresh && outcome.claim.taskId !== taskId;
      return { id, task_id: taskId, status: 'queued' as const, deduplicated };
    });
  }

  async update(id: string, op: Exclude<ChangeOp, 'create' | 'consent'>, fields: LeadInput | LeadPatch, idempotencyKey?: string): Promise<WriteReceipt> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    const taskId = newTaskId(id, op, idempotencyKey);
    if (idempotencyKey) await this.claim({ key: idempotencyKey, scope: `${op} ${id}`, body: fields }, deadline);
    const change = newChange(taskId, op, fields);
    return this.calls.within(deadline, async () => {
      // A write that names an email must hold it: claimed for this lead before the change is
      // handed over, so the lead never shows an email another lead holds. The lead releases the
      // email it leaves once it has applied the change (lead workflow, generation 5).
      const email = fields.email ?? undefined;
      const fresh = email ? await this.claimFor(id, email, taskId) : false;
      if (fields.unsubscribed === true) {
        const address = email ?? (await this.currentEmail(id));
        if (address) await this.optOut(address);
      }
      try {
        await this.calls.client.workflow.getHandle(leadWorkflowId(id)).signal(leadChangeSignal, change);
      } catch (err) {
        if (fresh) await this.releaseQuietly(email!, id);
        if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(id);
        throw err;
      }
      return { id, task_id: taskId, status: 'queued' as const };
    });
  }

  /**
   * A change made in the CRM (a webhook, src/crm-inbound): handed to the lead as a `crm`
   * change, whose task id is derived from the CRM's event id, so the CRM's retry of a delivery
   * is applied once. 'unknown' when there is no such lead (never made here, or erased).
   */
  async fromCrm(event: { leadId: string; eventId: string; occurredAt: string; fields: LeadPatch }): Promise<WriteReceipt | 'unknown'> {
    const deadline = Date.now() + this.options.writeTimeoutMs;
    const taskId = newTaskId(event.leadId, 'patch', `crm:${event.eventId}`);
    const change: LeadChange = { ...newChange(taskId, 'patch', event.fields), source: 'crm', crm_at: event.occurredAt };
    return this.calls.within(deadline, async () => {
      try {
        await this.calls.client.workflow.getHandle(leadWorkflowId(event.leadId)).signal(leadChangeSignal, change);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'unknown' as const;
        throw err;
      }
      return { id: event.leadId, task_id: taskId, status: 'queued' as const };
    });
  }

  /**
   * An opt-out takes effect before the 202: the address is suppressed now, so an email already
   * being retried (a welcome behind an SMTP outage) is stopped by its next attempt's check,
   * not only once the lead has applied this change after it.
   */
  private async optOut(email: string): Promise<void> {
    await this.addresses.suppress(email, { reason: 'unsubscribed', source: 'api', at: new Date().toISOString() });
  }

  /** Claims `email` for lead `id`; true when this call made the claim. 409 when another lead holds it. */
  private async claimFor(id: string, email: string, taskId: string): Promise<boolean> {
    let outcome = await this.addresses.claim(email, id, taskId, true);
    if (outcome.claim.leadId === id) return outcome.fresh;
    if (await this.isStale(outcome.claim, email, 'update')) {
      await this.addresses.releaseClaim(email, outcome.claim, `stale: lead ${outcome.claim.leadId} no longer has this email`);
      outcome = await this.addresses.claim(email, id, taskId);
      if (outcome.claim.leadId === id) return outcome.fresh;
    }
    throw new EmailTakenError(outcome.claim.leadId);
  }

  /**
   * A claim whose lead no longer shows its email: the lead moved away and its release has not
   * run yet (no worker), or a write crashed between claiming and handing the change over. A
   * claim younger than two write timeouts may belong to a write still in flight, so it stands.
   * A create adopts a claim whose lead never started (the retry of a create that crashed there).
   */
  private async isStale(claim: EmailClaim, email: string, by: 'create' | 'update'): Promise<boolean> {
    const age = Date.now() - Date.parse(claim.claimedAt);
    if (!(age > 2 * this.options.writeTimeoutMs)) return false;
    const current = await this.currentEmail(claim.leadId);
    if (current === null) return by === 'update';
    return current !== email;
  }

  private async releaseQuietly(email: string, id: string): Promise<void> {
    // Best effort: the write failed, so nothing will use the claim. A claim left behind (Temporal
    // down now) is found stale by the next write that needs the email (isStale).
    await this.addresses.release(email, id, 'the write that claimed it failed').catch(() => undefined);
  }

  /** Starts the lead with its first change, or hands the change to it when it runs already. */
  private async startOrSignal(id: string, change: LeadChange, fields: LeadInput): Promise<void> {
    const input: LeadWorkflowInput = { leadId: id, settings: this.options.settings, generation: LEAD_WORKFLOW_GENERATION };
    await this.calls.client.workflow.signalWithStart(leadWorkflow, {
      workflowId: leadWorkflowId(id),
      taskQueue: this.options.taskQueue,
      args: [input],
      signal: leadChangeSignal,
      signalArgs: [change],
      // The email in the memo (a payload, encrypted with TEMPORAL_CODEC_KEYS), not in a search
      // attribute (never encrypted): listings show it until the workflow publishes the lead.
      memo: { created_task_id: change.task_id, email: fields.email },
      typedSearchAttributes: [{ key: SA.stage, value: fields.stage ?? 'new' }],
      staticSummary: `lead ${id}`,
    });
  }

  private claim(claim: Parameters<typeof claimIdempotencyKey>[2], deadline: number): Promise<void> {
    return claimIdempotencyKey(this.calls, this.options.taskQueue, claim, deadline, (body) => this.addresses.keys.digest(stableStringify(body)));
  }
}

function newChange(taskId: string, op: ChangeOp, fields: LeadInput | LeadPatch): LeadChange {
  return { task_id: taskId, op, fields, received_at: new Date().toISOString() };
}
