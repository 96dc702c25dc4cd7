import type { LeadStage } from '../domain/lead.js';
import { NOT_PROVIDED } from '../activities/crm/salesforce-fields.js';
import type { HubSpotPropertyChange } from './hubspot-webhook.js';
import type { SalesforceChange } from './signed-webhook.js';
import type { CrmChangeEvent } from './changes.js';

// The way back of the field mappings in src/activities/crm (hubspot-properties.ts,
// salesforce-fields.ts): a CRM value becomes a lead field. A value that names no one stage
// (HubSpot's lifecycle stage `lead`, which new, contacted and unqualified share) is left out, so
// the echo of a lead's own write can never move it to another stage.

const HUBSPOT_STAGES: Record<string, Record<string, LeadStage>> = {
  lifecyclestage: { salesqualifiedlead: 'qualified', opportunity: 'qualified', customer: 'customer' },
  hs_lead_status: { NEW: 'new', ATTEMPTED_TO_CONTACT: 'contacted', IN_PROGRESS: 'contacted', CONNECTED: 'contacted', OPEN_DEAL: 'qualified', UNQUALIFIED: 'unqualified' },
};
const HUBSPOT_FIELDS: Record<string, string> = { firstname: 'first_name', lastname: 'last_name', company: 'company', phone: 'phone' };

const SALESFORCE_STAGES: Record<string, LeadStage> = {
  'Open - Not Contacted': 'new',
  'Working - Contacted': 'contacted',
  'Closed - Not Converted': 'unqualified',
  'Closed - Converted': 'customer',
};
const SALESFORCE_FIELDS: Record<string, string> = { FirstName: 'first_name', LastName: 'last_name', Company: 'company', Phone: 'phone' };

/** The lead field a CRM property sets, given the custom-field map (`{field: property}`) the worker writes with. */
function leadField(
  name: string,
  value: unknown,
  fields: Record<string, string>,
  customMap: Record<string, string>,
  owner: string,
): Record<string, unknown> | undefined {
  if (value === null || value === undefined || value === '' || value === NOT_PROVIDED) return undefined;
  if (fields[name]) return { [fields[name]]: value };
  if (name === owner) return { custom: { crm_owner: String(value) } };
  const custom = Object.entries(customMap).find(([, property]) => property === name)?.[0];
  return custom ? { custom: { [custom]: value } } : undefined;
}

/** HubSpot's events as lead changes: one per event, of the lead its contact holds (`leadIds`). */
export function hubSpotChanges(events: HubSpotPropertyChange[], leadIds: Map<number, string>, customMap: Record<string, string>): CrmChangeEvent[] {
  const out: CrmChangeEvent[] = [];
  for (const event of events) {
    const leadId = leadIds.get(event.objectId);
    if (!leadId) continue;
    const stage = HUBSPOT_STAGES[event.propertyName]?.[event.propertyValue];
    const fields = HUBSPOT_STAGES[event.propertyName]
      ? stage && { stage }
      : leadField(event.propertyName, event.propertyValue, HUBSPOT_FIELDS, customMap, 'hubspot_owner_id');
    if (!fields) continue;
    out.push({ leadId, eventId: `hubspot:${event.eventId}`, occurredAt: new Date(event.occurredAt).toISOString(), fields });
  }
  return out;
}

/** A HubSpot event of this app's own write (the echo of a sync): not a change made in the CRM. */
export function isOwnWrite(event: HubSpotPropertyChange): boolean {
  return event.changeSource === 'INTEGRATION' && event.sourceId === String(event.appId);
}

/** The Salesforce Flow's change notices as lead changes: one per record change. */
export function salesforceChanges(events: SalesforceChange[], customMap: Record<string, string>): CrmChangeEvent[] {
  return events.map((event) => {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(event.changedFields)) {
      const field = name === 'Status' ? (typeof value === 'string' && SALESFORCE_STAGES[value] ? { stage: SALESFORCE_STAGES[value] } : undefined) : leadField(name, value, SALESFORCE_FIELDS, customMap, 'OwnerId');
      if (!field) continue;
      if (field.custom) fields.custom = { ...(fields.custom as object | undefined), ...(field.custom as object) };
      else Object.assign(fields, field);
    }
    return { leadId: event.externalId, eventId: `salesforce:${event.eventId}`, occurredAt: new Date(event.changedAt).toISOString(), fields };
  });
}
