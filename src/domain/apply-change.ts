import type { LeadChange, LeadFields, LeadInput } from './lead.js';

// Kept apart from lead.ts so the workflow bundle does not pull in zod (type imports only):
// every byte of the bundle is loaded into each workflow worker's V8 context.

/**
 * Applies one change to the current fields. Pure; used by the workflow and the read model.
 *
 * `unsubscribed` is the address's consent, not an editable field: a change can opt out
 * (`true`), but no write clears it: `false`, `null` or leaving it out of a replace keeps what
 * the lead shows. Only a `consent` change (sent by the API after an explicit resubscribe, or
 * after the address's suppression changed elsewhere) sets it either way; lead_process then
 * shows the address's own state (src/identity).
 */
export function applyChange(current: LeadFields | undefined, change: LeadChange): LeadFields {
  const optedOut = current?.unsubscribed === true;
  if (change.op === 'consent') {
    const unsubscribed = (change.fields as { unsubscribed?: boolean | null }).unsubscribed;
    return { ...(current as LeadFields), unsubscribed: unsubscribed === true };
  }
  if (change.source === 'crm') return { ...(current as LeadFields), ...crmPatchOf(current, change) };
  let next: Record<string, unknown>;
  if (change.op === 'patch' || (change.op === 'create' && current)) {
    // A duplicate create for an existing lead merges like a patch: it never erases fields.
    next = { ...(current ?? {}) };
    for (const [key, value] of Object.entries(change.fields)) {
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    }
  } else {
    next = { ...(change.fields as LeadInput) };
  }
  if (optedOut) next.unsubscribed = true;
  return next as LeadFields;
}

/**
 * The fields a CRM change would change: those it sets to a value the lead does not show yet;
 * its custom fields merged into the lead's (a CRM knows the fields it maps, not the others).
 * Empty when the lead shows it all already, such as the CRM's echo of the service's own write.
 * Never the email or the consent: the email is the lead's identity (claims, src/identity) and
 * consent belongs to the address; both change through the API.
 */
export function crmPatchOf(current: LeadFields | undefined, change: LeadChange): Partial<LeadFields> {
  if (!current) return {};
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(change.fields)) {
    if (key === 'email' || key === 'unsubscribed' || value === null || value === undefined) continue;
    if (key === 'custom') {
      const custom = { ...(current.custom ?? {}) };
      let changed = false;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (String(custom[k]) !== String(v)) { // a CRM keeps every value as text
          custom[k] = v as string | number | boolean;
          changed = true;
        }
      }
      if (changed) patch.custom = custom;
    } else if ((current as Record<string, unknown>)[key] !== value) {
      patch[key] = value;
    }
  }
  return patch as Partial<LeadFields>;
}
