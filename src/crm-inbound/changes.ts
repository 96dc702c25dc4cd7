import { LeadPatch } from '../domain/lead.js';

/**
 * A change a sales rep (or the CRM's own automation) made to a lead's contact, in the lead's
 * field names: what each vendor's webhook (hubspot-webhook.ts, signed-webhook.ts) becomes.
 */
export interface CrmChangeEvent {
  leadId: string;
  /** The CRM's id of the event: its retry of a delivery carries the same one. */
  eventId: string;
  /** When the CRM says the change was made (ISO 8601). */
  occurredAt: string;
  fields: Record<string, unknown>;
}

export interface CrmChangeOutcome {
  accepted: number;
  /** Events of leads this service does not have (never made here, or erased). */
  unknown_leads: number;
  /** Events with no field a lead can take from the CRM. */
  ignored: number;
  task_ids: string[];
}

/** The fields a CRM may change: never the email (the lead's identity) or its consent (the address's). */
const FROM_CRM = ['first_name', 'last_name', 'company', 'phone', 'stage', 'custom'] as const;

/**
 * The event's fields as a lead patch: each field checked as the API checks it (a value the
 * API would refuse is left out, the others still apply); undefined when none is left.
 */
export function crmLeadPatch(fields: Record<string, unknown>): LeadPatch | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of FROM_CRM) {
    if (fields[key] === undefined || fields[key] === null) continue;
    const checked = LeadPatch.safeParse({ [key]: fields[key] });
    if (checked.success) Object.assign(patch, checked.data);
  }
  return Object.keys(patch).length > 0 ? (patch as LeadPatch) : undefined;
}
