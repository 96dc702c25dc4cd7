import type { LeadStage } from '../../domain/lead.js';
import type { CrmRecord } from './connector.js';

/**
 * How a lead becomes a HubSpot contact's properties. HubSpot stores every value as a string
 * ('' clears one), so a field the lead no longer has is sent as '' and the contact loses it too.
 *
 * The portal must define the custom properties `ao_lead_id` (text, unique values: the upsert's
 * idProperty, so an email change updates the same contact), `ao_version` and `ao_score`
 * (numbers), `ao_unsubscribed` (single checkbox), `ao_source` and `ao_tags` (text), and every
 * property named in the custom-field map: HubSpot refuses a write to a property it lacks.
 */

/** The contact property holding the lead id: the unique property batch upserts match on. */
export const LEAD_ID_PROPERTY = 'ao_lead_id';

/**
 * Our stage as HubSpot's default lifecycle stage. Lifecycle stages describe how far along the
 * funnel a contact is, so the stages that are all "still a lead" share `lead`; `hs_lead_status`
 * (below) carries the finer state. HubSpot only moves a lifecycle stage forward unless it is
 * cleared first, so a lead sent back (qualified → unqualified) keeps `salesqualifiedlead` there;
 * its lead status still says UNQUALIFIED.
 */
export const LIFECYCLE_STAGE: Record<LeadStage, string> = {
  new: 'lead',
  contacted: 'lead',
  qualified: 'salesqualifiedlead',
  unqualified: 'lead',
  customer: 'customer',
};

/** Our stage as HubSpot's default lead status; a customer is no longer worked as a lead, so it has none. */
export const LEAD_STATUS: Record<LeadStage, string> = {
  new: 'NEW',
  contacted: 'IN_PROGRESS',
  qualified: 'OPEN_DEAL',
  unqualified: 'UNQUALIFIED',
  customer: '',
};

/** Custom lead fields (`lead.custom` keys) to the HubSpot properties they are written to; others are not sent. */
export type CustomPropertyMap = Readonly<Record<string, string>>;

export function contactProperties(record: CrmRecord, custom: CustomPropertyMap = {}): Record<string, string> {
  const { lead } = record;
  const properties: Record<string, string> = {
    email: lead.email,
    firstname: lead.first_name ?? '',
    lastname: lead.last_name ?? '',
    company: lead.company ?? '',
    phone: lead.phone ?? '',
    lifecyclestage: LIFECYCLE_STAGE[lead.stage],
    hs_lead_status: LEAD_STATUS[lead.stage],
    [LEAD_ID_PROPERTY]: record.leadId,
    ao_version: String(record.version),
    ao_score: String(lead.score),
    ao_unsubscribed: String(lead.unsubscribed ?? false),
    ao_source: lead.source ?? '',
    // HubSpot's own multi-value format (multiple checkboxes) separates values with ';'.
    ao_tags: (lead.tags ?? []).join(';'),
  };
  for (const [field, property] of Object.entries(custom)) {
    const value = lead.custom?.[field];
    properties[property] = value === undefined ? '' : String(value);
  }
  return properties;
}
