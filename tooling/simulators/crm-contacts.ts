import type { CrmContact, CrmState } from './crm-state.js';

const KEYS_KEPT = 50;

interface UpsertResult {
  status: 200 | 201;
  body: { externalId: string; version: number; created: boolean; stale?: true };
}

/** Callers get copies, so what they inspect cannot change under them or change the store. */
export function copyContact(contact: CrmContact): CrmContact {
  return { ...contact, lead: structuredClone(contact.lead), keys: [...contact.keys] };
}

/** The CRM's version guard: a write lands only if it carries a newer version than the contact has. */
export function upsertContact(
  state: CrmState,
  externalId: string,
  version: number,
  lead: Record<string, unknown>,
  key: string,
): UpsertResult {
  const now = new Date().toISOString();
  const existing = state.store.get(externalId);
  if (!existing) {
    createContact(state, externalId, version, lead, key, now);
    return { status: 201, body: { externalId, version, created: true } };
  }

  rememberKey(state, existing, key);
  if (version <= existing.version) {
    existing.staleWrites += 1;
    return { status: 200, body: { externalId, version: existing.version, created: false, stale: true } };
  }
  existing.version = version;
  existing.lead = lead;
  existing.writes += 1;
  existing.updatedAt = now;
  return { status: 200, body: { externalId, version, created: false } };
}

function createContact(
  state: CrmState,
  externalId: string,
  version: number,
  lead: Record<string, unknown>,
  key: string,
  now: string,
): void {
  state.store.set(externalId, {
    externalId,
    version,
    lead,
    creates: 1,
    writes: 1,
    staleWrites: 0,
    duplicateKeys: 0,
    keys: [key],
    createdAt: now,
    updatedAt: now,
  });
  state.seenKeys.set(externalId, new Set([key]));
}

function rememberKey(state: CrmState, contact: CrmContact, key: string): void {
  const seen = state.seenKeys.get(contact.externalId) ?? new Set<string>();
  if (seen.has(key)) contact.duplicateKeys += 1;
  state.seenKeys.set(contact.externalId, seen.add(key));
  contact.keys.push(key);
  if (contact.keys.length > KEYS_KEPT) contact.keys.shift();
}
