import { randomUUID } from 'node:crypto';
import type { CrmContact, CrmState } from './crm-state.js';

const KEYS_KEPT = 50;

/**
 * A write refused because another contact holds the email, in HubSpot's error shape
 * (CRM v3 objects API: contacts are unique by email, a conflicting create answers 409).
 */
export interface ConflictBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: 'CONFLICT';
}

type UpsertResult =
  | { status: 200 | 201; body: { externalId: string; version: number; created: boolean; stale?: true } }
  | { status: 409; body: ConflictBody };

/** Callers get copies, so what they inspect cannot change under them or change the store. */
export function copyContact(contact: CrmContact): CrmContact {
  return { ...contact, lead: structuredClone(contact.lead), keys: [...contact.keys] };
}

/** The key a contact's email is unique under: lower-cased, as CRMs compare addresses; none without an email. */
export function contactEmail(lead: Record<string, unknown>): string | undefined {
  return typeof lead.email === 'string' && lead.email !== '' ? lead.email.toLowerCase() : undefined;
}

/**
 * The CRM's version guard and its unique email: a write lands only if it carries a newer
 * version than the contact has, and only if no other contact holds its email. The version
 * guard answers first: a stale write changes nothing, so it cannot conflict with anyone.
 */
export function upsertContact(
  state: CrmState,
  externalId: string,
  version: number,
  lead: Record<string, unknown>,
  key: string,
): UpsertResult {
  const now = new Date().toISOString();
  const existing = state.store.get(externalId);
  if (existing && version <= existing.version) {
    rememberKey(state, existing, key);
    existing.staleWrites += 1;
    return { status: 200, body: { externalId, version: existing.version, created: false, stale: true } };
  }
  const email = contactEmail(lead);
  const holder = email === undefined ? undefined : state.byEmail.get(email);
  if (holder !== undefined && holder !== externalId) {
    state.conflicts += 1;
    return { status: 409, body: conflictBody(holder) };
  }
  if (!existing) {
    createContact(state, externalId, version, lead, key, now);
    return { status: 201, body: { externalId, version, created: true } };
  }

  rememberKey(state, existing, key);
  claimEmail(state, externalId, contactEmail(existing.lead), email);
  existing.version = version;
  existing.lead = lead;
  existing.writes += 1;
  existing.updatedAt = now;
  return { status: 200, body: { externalId, version, created: false } };
}

/** Removes the contact and frees its email; false when there is no such contact. */
export function deleteContact(state: CrmState, externalId: string): boolean {
  const contact = state.store.get(externalId);
  if (!contact) return false;
  claimEmail(state, externalId, contactEmail(contact.lead), undefined);
  state.store.delete(externalId);
  // The contact is gone, its version guard with it: a later write creates it anew, as in a CRM.
  state.seenKeys.delete(externalId);
  state.deleted.push({ externalId, deletedAt: new Date().toISOString() });
  return true;
}

function conflictBody(existingId: string): ConflictBody {
  return { status: 'error', message: `Contact already exists. Existing ID: ${existingId}`, correlationId: randomUUID(), category: 'CONFLICT' };
}

/** Moves the contact's hold from one email to another (either may be none). */
function claimEmail(state: CrmState, externalId: string, from: string | undefined, to: string | undefined): void {
  if (from === to) return;
  if (from !== undefined && state.byEmail.get(from) === externalId) state.byEmail.delete(from);
  if (to !== undefined) state.byEmail.set(to, externalId);
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
  claimEmail(state, externalId, undefined, contactEmail(lead));
}

function rememberKey(state: CrmState, contact: CrmContact, key: string): void {
  const seen = state.seenKeys.get(contact.externalId) ?? new Set<string>();
  if (seen.has(key)) contact.duplicateKeys += 1;
  state.seenKeys.set(contact.externalId, seen.add(key));
  contact.keys.push(key);
  if (contact.keys.length > KEYS_KEPT) contact.keys.shift();
}
