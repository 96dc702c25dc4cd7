import { LEAD_ID_PROPERTY } from '../activities/crm/hubspot-properties.js';

export interface HubSpotReadOptions {
  baseUrl: string;
  accessToken: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The HubSpot contact ids of a webhook's events → the lead ids they hold (their `ao_lead_id`). */
export type HubSpotLeadIds = (objectIds: readonly number[]) => Promise<Map<number, string>>;

const BATCH_READ = '/crm/v3/objects/contacts/batch/read';
const MAX_READ = 100;

/**
 * A contact's webhook names HubSpot's own id, not the lead: one batch read per 100 contacts
 * asks for their `ao_lead_id`. Contacts HubSpot no longer has (a 207's OBJECT_NOT_FOUND), or
 * that no lead of this service made, are left out. Any other answer throws: the webhook is
 * then answered 503 and HubSpot delivers it again.
 */
export function hubSpotLeadIds(options: HubSpotReadOptions): HubSpotLeadIds {
  const send = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}${BATCH_READ}`;
  return async (objectIds) => {
    const found = new Map<number, string>();
    const unique = [...new Set(objectIds)];
    for (let i = 0; i < unique.length; i += MAX_READ) {
      const chunk = unique.slice(i, i + MAX_READ);
      const response = await send(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: chunk.map((id) => ({ id: String(id) })), properties: [LEAD_ID_PROPERTY], propertiesWithHistory: [] }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      if (response.status !== 200 && response.status !== 207) throw new Error(`HubSpot batch read answered ${response.status}: ${text.slice(0, 200)}`);
      const body = JSON.parse(text) as { results?: Array<{ id: string; properties?: Record<string, string | null> }> };
      for (const contact of body.results ?? []) {
        const leadId = contact.properties?.[LEAD_ID_PROPERTY];
        if (leadId) found.set(Number(contact.id), leadId);
      }
    }
    return found;
  };
}
