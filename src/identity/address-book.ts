import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { isNotFound } from '../temporal/protocol.js';
import { emailKeysFromConfig, type EmailKeys } from './email-key.js';

// The rules that span leads live here, per email address (by its email key, email-key.ts),
// not in any lead's workflow:
// - a claim: which lead holds the address (one lead per person);
// - a suppression: the address opted out, bounced, complained or was erased (consent
//   belongs to the address, and survives every write to any lead).
//
// Each record is a Temporal workflow that never runs: started with a start delay of ten
// years, it has one history event and asks no worker for anything, so records are written
// and read with the API's Temporal calls alone, also while every worker is down. The
// workflow id is the key; Temporal refuses a second running execution of one id, which makes
// a claim atomic across API processes; a record ends by termination, whose reason stays in
// its history. Decision record: docs/decisions.md ("Address records in Temporal").

/** The address book of this deployment (its task queue, EMAIL_HASH_SECRETS), over `client`. */
export function addressBookFromConfig(
  config: { TEMPORAL_TASK_QUEUE: string; EMAIL_HASH_SECRETS?: string | undefined },
  client: Client,
): AddressBook {
  return new AddressBook(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, keys: emailKeysFromConfig(config) });
}

export const ADDRESS_RECORD_WORKFLOW = 'addressRecord';
const NEVER = '87600h';

export const claimWorkflowId = (key: string) => `email-claim-${key}`;
export const suppressionWorkflowId = (key: string) => `email-suppression-${key}`;

/** Who holds an address. */
export interface EmailClaim {
  leadId: string;
  /** The task of the change the claim was made for (a create's: tells a retry from a duplicate). */
  taskId: string;
  claimedAt: string;
  /** The claim's run, so a release ends exactly the claim it checked. */
  runId: string;
}

export type ClaimOutcome = { fresh: true; claim: EmailClaim } | { fresh: false; claim: EmailClaim };

export const SUPPRESSION_REASONS = ['unsubscribed', 'bounced', 'complained', 'rejected', 'erased'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** Why an address gets no email. Holds no address and no lead data. */
export interface Suppression {
  reason: SuppressionReason;
  /** Where it came from: `api`, `unsubscribe_link`, `one_click`, `email_events`, `smtp`, `erasure`… */
  source: string;
  at: string;
}

export interface AddressBookOptions {
  taskQueue: string;
  keys: EmailKeys;
}

/**
 * Claims and suppressions of email addresses, over any Temporal client (the API's, a worker's).
 * Callers bound the calls with their own deadlines.
 */
export class AddressBook {
  constructor(
    private readonly client: Client,
    private readonly options: AddressBookOptions,
  ) {}

  get keys(): EmailKeys {
    return this.options.keys;
  }

  /**
   * Claims `email` for `leadId`, or finds who holds it. `expectHeld` orders the two calls for
   * the likely case: a write that keeps a lead's email reads first, a new address starts first.
   */
  async claim(email: string, leadId: string, taskId: string, expectHeld = false): Promise<ClaimOutcome> {
    const keys = this.keys.all(email);
    // Under a rotated secret the address may still be held under an older key.
    for (const key of keys.slice(1)) {
      const older = await this.claimOf(key);
      if (older) return { fresh: false, claim: older };
    }
    const key = keys[0]!;
    for (let attempt = 0; ; attempt++) {
      if (expectHeld || attempt > 0) {
        const held = await this.claimOf(key);
        if (held) return { fresh: false, claim: held };
      }
      const claimedAt = new Date().toISOString();
      try {
        const handle = await this.start(claimWorkflowId(key), { lead_id: leadId, task_id: taskId, claimed_at: claimedAt });
        return { fresh: true, claim: { leadId, taskId, claimedAt, runId: handle.firstExecutionRunId } };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const held = await this.claimOf(key);
      if (held) return { fresh: false, claim: held };
      // Released between the start and the read: try again (bounded; a release is rare).
      if (attempt >= 3) throw new Error(`email claim ${key} changed hands too often; try again`);
    }
  }

  /** Who holds `email` now, under any configured key; null when nobody does. */
  async holder(email: string): Promise<EmailClaim | null> {
    for (const key of this.keys.all(email)) {
      const claim = await this.claimOf(key);
      if (claim) return claim;
    }
    return null;
  }

  /** Ends `leadId`'s claim on `email`; another lead's claim is left alone. True if one ended. */
  async release(email: string, leadId: string, reason = 'the lead changed its email'): Promise<boolean> {
    let released = false;
    for (const key of this.keys.all(email)) released = (await this.releaseKey(key, leadId, reason)) || released;
    return released;
  }

  /** release() by email key: the erasure knows the keys of the address, not the address. */
  async releaseKey(key: string, leadId: string, reason: string): Promise<boolean> {
    const claim = await this.claimOf(key);
    if (claim?.leadId !== leadId) return false;
    return this.end(claimWorkflowId(key), claim.runId, `${reason} (lead ${leadId})`);
  }

  /** suppress() by email key (the erasure's). */
  async suppressKey(key: string, suppression: Suppression): Promise<boolean> {
    if (await this.recordOf(suppressionWorkflowId(key))) return false;
    try {
      await this.start(suppressionWorkflowId(key), { ...suppression });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  /** Ends a claim exactly as it was read (its run), e.g. a stale one. */
  releaseClaim(email: string, claim: EmailClaim, reason: string): Promise<boolean> {
    return this.end(claimWorkflowId(this.keys.current(email)), claim.runId, reason);
  }

  /** Suppresses `email`. False when it already was (the first reason stays). */
  async suppress(email: string, suppression: Suppression): Promise<boolean> {
    const [current, ...older] = this.keys.all(email);
    for (const key of older) if (await this.recordOf(suppressionWorkflowId(key))) return false;
    return this.suppressKey(current!, suppression);
  }

  /** Why `email` gets no email, or null when it may be mailed. */
  async suppression(email: string): Promise<Suppression | null> {
    for (const key of this.keys.all(email)) {
      const record = await this.recordOf(suppressionWorkflowId(key));
      if (record) return record.memo as unknown as Suppression;
    }
    return null;
  }

  /** Lifts a suppression on the address's own renewed consent; `source` says how it was given. */
  async resubscribe(email: string, source: string): Promise<boolean> {
    let lifted = false;
    for (const key of this.keys.all(email)) {
      const record = await this.recordOf(suppressionWorkflowId(key));
      if (record) lifted = (await this.end(suppressionWorkflowId(key), record.runId, `resubscribed: ${source}`)) || lifted;
    }
    return lifted;
  }

  private async claimOf(key: string): Promise<EmailClaim | null> {
    const record = await this.recordOf(claimWorkflowId(key));
    if (!record) return null;
    const memo = record.memo;
    return { leadId: String(memo.lead_id), taskId: String(memo.task_id ?? ''), claimedAt: String(memo.claimed_at ?? ''), runId: record.runId };
  }

  /** A running record's memo and run, or null (never started, or ended). */
  private async recordOf(workflowId: string): Promise<{ memo: Record<string, unknown>; runId: string } | null> {
    try {
      const d = await this.client.workflow.getHandle(workflowId).describe();
      if (d.status.name !== 'RUNNING') return null;
      return { memo: (d.memo ?? {}) as Record<string, unknown>, runId: d.runId };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private start(workflowId: string, memo: Record<string, unknown>) {
    return this.client.workflow.start(ADDRESS_RECORD_WORKFLOW, {
      workflowId,
      taskQueue: this.options.taskQueue,
      args: [],
      memo,
      startDelay: NEVER,
      workflowIdConflictPolicy: 'FAIL',
    });
  }

  private async end(workflowId: string, runId: string, reason: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId, runId).terminate(reason);
      return true;
    } catch (err) {
      // Ended already (another releaser got there first).
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
