import type { LeadStage } from '../../domain/lead.js';
import type { CrmRecord } from './connector.js';

/**
 * A lead as a Salesforce Lead. Salesforce requires LastName and Company; a lead without them
 * gets what Salesforce's own web-to-lead puts there: '[not provided]' for Company, and for
 * LastName the email's local part (a rep can tell leads apart by it) or '[not provided]'.
 * Fields the lead has no value for are left out rather than sent as null, so what a sales
 * rep typed into Salesforce is not wiped by our next sync (the flip side: a value cleared
 * here stays in Salesforce). Custom fields go only through `customFields`: Salesforce refuses
 * the whole request for a field it does not have.
 */

export const NOT_PROVIDED = '[not provided]';

/**
 * Our stage as a Lead Status of a standard org's picklist. 'Closed - Converted' is not used:
 * conversion is a Salesforce action (it makes an Account, Contact and Opportunity), not a
 * Status a client may write. Orgs with their own picklist pass `statusByStage`.
 */
export const DEFAULT_STATUS_BY_STAGE: Record<LeadStage, string> = {
  new: 'Open - Not Contacted',
  contacted: 'Working - Contacted',
  qualified: 'Working - Contacted',
  customer: 'Working - Contacted',
  unqualified: 'Closed - Not Converted',
};

/** Salesforce's lengths for the standard fields we fill, so a long value is cut rather than refused. */
const MAX = { FirstName: 40, LastName: 80, Company: 255, Phone: 40 } as const;

export interface LeadFieldMapping {
  externalIdField: string;
  sobject: string;
  statusByStage: Record<LeadStage, string>;
  /** Our custom key -> a Salesforce field (`Budget__c`); keys not listed are not sent. */
  customFields: Record<string, string>;
}

export function toSalesforceLead(record: CrmRecord, mapping: LeadFieldMapping): Record<string, unknown> {
  const lead = record.lead;
  const fields: Record<string, unknown> = {
    attributes: { type: mapping.sobject },
    [mapping.externalIdField]: record.leadId,
    Email: lead.email,
    LastName: cut(lead.last_name || lead.email.split('@')[0] || NOT_PROVIDED, MAX.LastName),
    Company: cut(lead.company || NOT_PROVIDED, MAX.Company),
    Status: mapping.statusByStage[lead.stage],
    HasOptedOutOfEmail: lead.unsubscribed === true,
    AO_Version__c: record.version,
    AO_Score__c: lead.score,
  };
  if (lead.first_name) fields.FirstName = cut(lead.first_name, MAX.FirstName);
  if (lead.phone) fields.Phone = cut(lead.phone, MAX.Phone);
  if (lead.source) fields.LeadSource = lead.source;
  for (const [key, field] of Object.entries(mapping.customFields)) {
    const value = lead.custom?.[key];
    if (value !== undefined) fields[field] = value;
  }
  return fields;
}

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}
