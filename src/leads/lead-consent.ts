import { WorkflowNotFoundError } from '@temporalio/client';
import { leadWorkflowId, newTaskId } from '../domain/ids.js';
import type { LeadChange, LeadView } from '../domain/lead.js';
import type { AddressBook, Suppression } from '../identity/address-book.js';
import { leadChangeSignal } from '../temporal/lead-messages.js';
import { LeadNotFoundError } from './errors.js';
import type { TemporalCalls } from '../temporal/calls.js';

/** What a consent call did: `changed` false when the address already was in that state (no new version). */
export interface ConsentReceipt {
  id: string;
  task_id: string | null;
  status: 'queued' | 'unchanged';
  unsubscribed: boolean;
}

/**
 * Consent belongs to the address (src/identity): opting out suppresses the lead's address,
 * resubscribing lifts its suppression, and the lead is sent a `consent` change only when that
 * changed something, so a second unsubscribe click writes no version and no CRM update.
 */
export class LeadConsent {
  constructor(
    private readonly calls: TemporalCalls,
    private readonly addresses: AddressBook,
    private readonly read: (id: string) => Promise<LeadView>,
    private readonly writeTimeoutMs: number,
  ) {}

  /** Opts the lead's address out (an API call, the unsubscribe link, one-click): always possible. */
  async optOut(id: string, source: string): Promise<ConsentReceipt> {
    const lead = await this.read(id);
    const fresh = await this.bounded(() =>
      this.addresses.suppress(lead.email, { reason: 'unsubscribed', source, at: new Date().toISOString() }),
    );
    if (!fresh && lead.unsubscribed === true) return { id, task_id: null, status: 'unchanged', unsubscribed: true };
    return this.tell(id, true);
  }

  /** The address's own renewed consent, with where it was given (`source`, kept in the record's history). */
  async resubscribe(id: string, source: string): Promise<ConsentReceipt> {
    const lead = await this.read(id);
    const lifted = await this.bounded(() => this.addresses.resubscribe(lead.email, source));
    if (!lifted && lead.unsubscribed !== true) return { id, task_id: null, status: 'unchanged', unsubscribed: false };
    return this.tell(id, false);
  }

  /**
   * An address suppressed from outside any lead (a bounce, a complaint): the record, then the
   * lead holding the address is told unless it shows it already (also when the record existed:
   * an earlier call may have failed between the two).
   */
  async addressSuppressed(email: string, suppression: Suppression): Promise<{ fresh: boolean }> {
    const [fresh, holder] = await this.bounded(async () => [await this.addresses.suppress(email, suppression), await this.addresses.holder(email)] as const);
    if (!holder) return { fresh };
    try {
      const lead = await this.read(holder.leadId);
      if (lead.email === email && lead.unsubscribed !== true) await this.tell(holder.leadId, true);
    } catch (err) {
      if (!(err instanceof LeadNotFoundError)) throw err; // a claim left by a lead that is gone
    }
    return { fresh };
  }

  /**
   * Lifts a suppression the mail server's refusal made (reason `rejected`) and tells the lead,
   * for an operator's re-drive; any other suppression stands. The consent change is handed over
   * before the re-drive, so the lead shows the address mailable when it repairs its welcome.
   */
  async liftRejection(lead: LeadView, deadline: number): Promise<void> {
    const lifted = await this.calls.within(deadline, async () => {
      const suppression = await this.addresses.suppression(lead.email);
      return suppression?.reason === 'rejected' && (await this.addresses.resubscribe(lead.email, 're-drive by an operator'));
    });
    if (lifted || (lead.unsubscribed === true && (await this.suppression(lead.email)) === null)) await this.tell(lead.id, false);
  }

  /** The address's suppression, or null when it may be mailed. */
  suppression(email: string): Promise<Suppression | null> {
    return this.bounded(() => this.addresses.suppression(email));
  }

  /** Sends the lead the address's state as a `consent` change; lead_process then reads the address. */
  private async tell(id: string, unsubscribed: boolean): Promise<ConsentReceipt> {
    const change: LeadChange = { task_id: newTaskId(id, 'consent'), op: 'consent', fields: { unsubscribed }, received_at: new Date().toISOString() };
    await this.bounded(async () => {
      try {
        await this.calls.client.workflow.getHandle(leadWorkflowId(id)).signal(leadChangeSignal, change);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(id);
        throw err;
      }
    });
    return { id, task_id: change.task_id, status: 'queued', unsubscribed };
  }

  private bounded<T>(fn: () => Promise<T>): Promise<T> {
    return this.calls.within(Date.now() + this.writeTimeoutMs, fn);
  }
}
