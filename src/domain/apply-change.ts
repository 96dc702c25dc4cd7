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
