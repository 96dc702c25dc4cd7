import type { LeadChange, LeadFields, LeadInput } from './lead.js';

// Kept apart from lead.ts so the workflow bundle does not pull in zod (type imports only):
// every byte of the bundle is loaded into each workflow worker's V8 context.

/** Applies one change to the current fields. Pure; used by the workflow. */
export function applyChange(current: LeadFields | undefined, change: LeadChange): LeadFields {
  if (change.op === 'patch' || (change.op === 'create' && current)) {
    // A duplicate create for an existing lead merges like a patch: it never erases fields.
    const next: Record<string, unknown> = { ...(current ?? {}) };
    for (const [key, value] of Object.entries(change.fields)) {
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    }
    return next as LeadFields;
  }
  return { ...(change.fields as LeadInput) };
}
