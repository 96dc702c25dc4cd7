import type { LeadStore, SfLead } from './lead-store.js';

/**
 * What a Lead must be to be saved, as a standard org checks it: the required fields, field
 * lengths, a well-formed Email, and the standard lead duplicate rule (blocking, and stricter
 * than Salesforce's fuzzy one: the same email, compared case-insensitively, is a duplicate).
 */

export interface SfRecordError {
  statusCode: string;
  message: string;
  fields: string[];
  duplicateResult?: unknown;
}

/** Standard Lead fields the simulated org knows; any custom field (`__c`) is accepted as well. */
const MAX_LENGTH: Record<string, number> = {
  FirstName: 40,
  LastName: 80,
  Company: 255,
  Email: 80,
  Phone: 40,
  MobilePhone: 40,
  Title: 128,
  Status: 255,
  LeadSource: 255,
  Industry: 255,
  Website: 255,
  Description: 32_000,
  OwnerId: 18,
};
const OTHER_FIELDS = new Set(['HasOptedOutOfEmail', 'DoNotCall', 'Rating', 'NumberOfEmployees']);
const CUSTOM_TEXT_MAX = 255;
const REQUIRED = ['LastName', 'Company'];
// Salesforce's own check is looser than RFC 5322 but refuses what has no local part, no @ or no domain dot.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A field name a Lead does not have; the whole request is refused with INVALID_FIELD for it. */
export function unknownField(record: Record<string, unknown>): string | undefined {
  return Object.keys(record).find((key) => key !== 'attributes' && !(key in MAX_LENGTH) && !OTHER_FIELDS.has(key) && !key.endsWith('__c'));
}

/** Why lead `id` cannot be saved with `fields` (all of its fields after the change); empty when it can. */
export function checkLead(store: LeadStore, id: string, fields: Record<string, unknown>): SfRecordError[] {
  const missing = REQUIRED.filter((name) => fields[name] === undefined || fields[name] === null || String(fields[name]).trim() === '');
  if (missing.length > 0) return [{ statusCode: 'REQUIRED_FIELD_MISSING', message: `Required fields are missing: [${missing.join(', ')}]`, fields: missing }];

  for (const [name, value] of Object.entries(fields)) {
    const max = MAX_LENGTH[name] ?? (name.endsWith('__c') ? CUSTOM_TEXT_MAX : undefined);
    if (max !== undefined && typeof value === 'string' && value.length > max) {
      return [{ statusCode: 'STRING_TOO_LONG', message: `${name}: data value too large: ${value.slice(0, 40)} (max length=${max})`, fields: [name] }];
    }
  }

  const email = fields.Email;
  if (email !== undefined && email !== null && email !== '') {
    if (typeof email !== 'string' || !EMAIL.test(email)) return [{ statusCode: 'INVALID_EMAIL_ADDRESS', message: `Email: invalid email address: ${String(email)}`, fields: ['Email'] }];
    const holder = store.holderOfEmail(email);
    if (holder !== undefined && holder !== id) return [duplicateError(holder)];
  }
  return [];
}

function duplicateError(holderId: string): SfRecordError {
  return {
    statusCode: 'DUPLICATES_DETECTED',
    message: 'Use one of these records?',
    fields: [],
    duplicateResult: {
      allowSave: false,
      duplicateRule: 'Standard_Rule_for_Leads_with_Duplicate_Leads',
      duplicateRuleEntityType: 'Lead',
      errorMessage: 'Use one of these records?',
      matchResults: [{ entityType: 'Lead', rule: 'Standard_Lead_Match_Rule_v1_0', size: 1, success: true, matchRecords: [{ record: { attributes: { type: 'Lead' }, Id: holderId }, matchConfidence: 100 }] }],
    },
  };
}

/** `existing` with `patch` applied (a new lead when there is none), stamped `now`. */
export function applyPatch(existing: SfLead | undefined, id: string, patch: Record<string, unknown>, now: string): SfLead {
  const { attributes: _attributes, ...fields } = patch;
  return {
    Id: id,
    fields: { ...existing?.fields, ...fields },
    CreatedDate: existing?.CreatedDate ?? now,
    LastModifiedDate: now,
  };
}

/** A Lead as GET /sobjects/Lead/{id} answers it: its fields beside Id and the attributes. */
export interface SfLeadJson {
  attributes: { type: 'Lead'; url: string };
  Id: string;
  CreatedDate: string;
  LastModifiedDate: string;
  [field: string]: unknown;
}

export function leadJson(lead: SfLead, apiVersion: string): SfLeadJson {
  return { attributes: { type: 'Lead', url: `/services/data/${apiVersion}/sobjects/Lead/${lead.Id}` }, Id: lead.Id, ...lead.fields, CreatedDate: lead.CreatedDate, LastModifiedDate: lead.LastModifiedDate };
}
