import { randomUUID } from 'node:crypto';
import { signWebhookBody, SIGNATURE_HEADER } from '../../../src/crm-inbound/signed-webhook.js';
import type { SalesforceState } from './sf-state.js';

/**
 * Stands in for a record-triggered Flow whose HTTP callout tells us a sales rep changed a
 * Lead: it POSTs our signed change notice (src/crm-inbound/signed-webhook.ts) to the target.
 * The Flow runs after the save, on its own: the rep's request never waits for the callout.
 */

export interface FlowCalloutConfig {
  targetUrl: string;
  secret: string;
}

export interface FlowCalloutRecord {
  eventId: string;
  externalId: string;
  /** The target's HTTP status, or the error when it could not be reached. */
  status?: number;
  error?: string;
}

export class FlowCallouts {
  private config: FlowCalloutConfig | undefined;
  private readonly pending = new Set<Promise<void>>();
  readonly sent: FlowCalloutRecord[] = [];

  constructor(private readonly state: SalesforceState) {}

  configure(config: FlowCalloutConfig | undefined): void {
    this.config = config;
  }

  /** Reports a rep's change of `changedFields` on the lead with our id `externalId`; nothing when unconfigured or unchanged. */
  emit(externalId: string, changedFields: Record<string, unknown>, changedAt: string): void {
    const config = this.config;
    if (!config || Object.keys(changedFields).length === 0) return;
    const event = { eventId: randomUUID(), objectType: 'Lead', externalId, changedFields, changedAt };
    const body = JSON.stringify({ events: [event] });
    const record: FlowCalloutRecord = { eventId: event.eventId, externalId };
    this.sent.push(record);
    this.state.stats.callouts += 1;
    const delivery = fetch(config.targetUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhookBody(config.secret, body) },
      body,
      signal: AbortSignal.timeout(10_000),
    }).then(
      async (response) => {
        record.status = response.status;
        await response.body?.cancel();
        if (!response.ok) this.state.stats.calloutFailures += 1;
      },
      (err: unknown) => {
        record.error = (err as Error).message;
        this.state.stats.calloutFailures += 1;
      },
    );
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves when every callout started so far has been answered (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
