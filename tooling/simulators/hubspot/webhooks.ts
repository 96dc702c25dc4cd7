import { createHmac } from 'node:crypto';
import type { PropertyChange } from './contacts.js';
import type { HubSpotState, WebhookSettings } from './state.js';

/**
 * `contact.propertyChange` webhooks, as a HubSpot app receives them: one POST per edit carrying an
 * array of events (one per changed property), signed with the v3 signature. HubSpot retries a
 * failed delivery for hours; the simulator sends each once and records how it was answered.
 */

const DELIVERIES_KEPT = 10_000;
const DEFAULT_PORTAL_ID = 62515;
const DEFAULT_SUBSCRIPTION_ID = 4001;

/** A rep's edit in HubSpot's UI: the source HubSpot reports for it. */
const CHANGE_SOURCE = 'CRM_UI';
const SOURCE_ID = 'userId:1234567';

/** HubSpot's v3 signature: base64 HMAC-SHA256, keyed by the app's client secret, of method + URI + body + timestamp. */
export function signV3(clientSecret: string, method: string, uri: string, body: string, timestamp: string): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`, 'utf8').digest('base64');
}

function eventsFor(state: HubSpotState, settings: WebhookSettings, changes: PropertyChange[], occurredAt: number) {
  return changes.map((change) => ({
    eventId: state.nextEventId++,
    subscriptionId: settings.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    portalId: settings.portalId ?? DEFAULT_PORTAL_ID,
    appId: settings.appId,
    occurredAt,
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId: Number(change.objectId),
    propertyName: change.propertyName,
    propertyValue: change.propertyValue,
    changeSource: CHANGE_SOURCE,
    sourceId: SOURCE_ID,
  }));
}

/** Sends the edit's events in the background; `settled()` on the simulator waits for it. */
export function emitPropertyChanges(state: HubSpotState, changes: PropertyChange[]): void {
  const settings = state.webhooks;
  if (!settings || changes.length === 0) return;
  const delivery = deliver(state, settings, eventsFor(state, settings, changes, Date.now()));
  state.pendingDeliveries.add(delivery);
  void delivery.finally(() => state.pendingDeliveries.delete(delivery));
}

async function deliver(state: HubSpotState, settings: WebhookSettings, events: unknown[]): Promise<void> {
  const body = JSON.stringify(events);
  const timestamp = String(Date.now());
  let status = 0;
  try {
    const response = await fetch(settings.targetUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': signV3(settings.clientSecret, 'POST', settings.targetUrl, body, timestamp),
        'x-hubspot-request-timestamp': timestamp,
      },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    status = response.status;
    await response.body?.cancel();
  } catch {
    status = 0; // unreachable or timed out: recorded as such
  }
  state.deliveries.push({ events, status, sentAt: new Date(Number(timestamp)).toISOString() });
  if (state.deliveries.length > DELIVERIES_KEPT) state.deliveries.shift();
}
