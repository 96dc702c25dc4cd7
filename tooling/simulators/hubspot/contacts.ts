import { z } from 'zod';
import { errorBody, validationError, type ErrorDetail, type Refusal } from './errors.js';
import { findContact, type HubSpotContact, type HubSpotState } from './state.js';

/**
 * HubSpot's contact writes: batch upsert by a unique property, a single contact's PATCH, and the
 * GDPR delete. Each checks the whole request before it changes anything, so a refused request
 * leaves the portal as it was.
 */

export const MAX_BATCH_INPUTS = 100;

const Properties = z.record(z.string(), z.string({ error: 'property values must be strings' }));
const UpsertInput = z.object({ id: z.string(), idProperty: z.string().optional(), objectWriteTraceId: z.string().optional(), properties: Properties });
const UpsertBody = z.object({ inputs: z.array(UpsertInput) });
const PatchBody = z.object({ properties: Properties });
const GdprDeleteBody = z.object({ objectId: z.string(), idProperty: z.string().optional() });
const ReadBody = z.object({
  inputs: z.array(z.object({ id: z.string() })),
  properties: z.array(z.string()),
  propertiesWithHistory: z.array(z.string()),
  idProperty: z.string().optional(),
});

// A plain shape check: HubSpot refuses an address it cannot parse with INVALID_EMAIL.
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

type Answer<T> = { status: number; body: T } | Refusal;

/** A contact as the API shows it (SimplePublicObject / SimplePublicUpsertObject without `new`). */
export function publicContact(contact: HubSpotContact) {
  return { id: contact.id, properties: { ...contact.properties }, createdAt: contact.createdAt, updatedAt: contact.updatedAt, archived: false };
}

/** One property whose value changed on a contact, for webhooks. */
export interface PropertyChange {
  objectId: string;
  propertyName: string;
  propertyValue: string;
}

export function batchUpsert(state: HubSpotState, raw: unknown): Answer<unknown> {
  const parsed = UpsertBody.safeParse(raw);
  if (!parsed.success) return validationError('Invalid input JSON', zodDetails(parsed.error));
  const inputs = parsed.data.inputs;
  if (inputs.length > MAX_BATCH_INPUTS) return validationError(`Batch input limit exceeded: ${inputs.length} inputs, at most ${MAX_BATCH_INPUTS} allowed.`);

  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const input of inputs) {
    const idProperty = input.idProperty;
    // HubSpot's upsert finds the record by `idProperty`; without one it would match on hs_object_id, which cannot create.
    if (idProperty === undefined || !state.uniqueProperties.has(idProperty)) {
      return validationError(`${idProperty ?? '(none)'} is not a unique property of contacts: idProperty must be one of ${[...state.uniqueProperties].join(', ')}.`);
    }
    const key = `${idProperty}\u0000${normalized(idProperty, input.id)}`;
    if (seen.has(key)) duplicates.push(input.id);
    seen.add(key);
    const invalid = invalidProperties(state, { ...input.properties, [idProperty]: input.id });
    if (invalid) return invalid;
  }
  if (duplicates.length > 0) return validationError(`Duplicate IDs found in batch input: [${duplicates.join(', ')}]. IDs must be unique`);

  const plans = inputs.map((input) => {
    const idProperty = input.idProperty!;
    const target = findContact(state, idProperty, input.id);
    return { target, properties: merged(target?.properties ?? {}, { ...input.properties, [idProperty]: input.id }) };
  });
  const conflict = emailConflict(state, plans);
  if (conflict) return conflict;

  const now = new Date().toISOString();
  const results = plans.map((plan) => {
    const created = plan.target === undefined;
    const contact = plan.target ?? newContact(state, now);
    contact.properties = { ...plan.properties, hs_object_id: contact.id, lastmodifieddate: now };
    contact.updatedAt = now;
    return { ...publicContact(contact), new: created };
  });
  state.counters.records += inputs.length;
  return { status: 200, body: { status: 'COMPLETE', results, startedAt: now, completedAt: new Date().toISOString() } };
}

/** A rep's edit of one contact (by its id, or by a unique property with `?idProperty=`); answers what changed. */
export function patchContact(state: HubSpotState, contactId: string, idProperty: string | undefined, raw: unknown): Answer<unknown> & { changes?: PropertyChange[] } {
  const parsed = PatchBody.safeParse(raw);
  if (!parsed.success) return validationError('Invalid input JSON', zodDetails(parsed.error));
  const contact = lookup(state, contactId, idProperty);
  if (!contact) return notFound(contactId);
  const invalid = invalidProperties(state, parsed.data.properties);
  if (invalid) return invalid;
  const properties = merged(contact.properties, parsed.data.properties);
  const conflict = emailConflict(state, [{ target: contact, properties }]);
  if (conflict) return conflict;

  const changes = Object.entries(parsed.data.properties)
    .filter(([name, value]) => (contact.properties[name] ?? '') !== value)
    .map(([propertyName, propertyValue]) => ({ objectId: contact.id, propertyName, propertyValue }));
  const now = new Date().toISOString();
  contact.properties = { ...properties, hs_object_id: contact.id, lastmodifieddate: now };
  contact.updatedAt = now;
  return { status: 200, body: publicContact(contact), changes };
}

/** The GDPR delete: removes the contact for good; 404 when no contact matches. */
export function gdprDelete(state: HubSpotState, raw: unknown): Answer<undefined> {
  const parsed = GdprDeleteBody.safeParse(raw);
  if (!parsed.success) return validationError('Invalid input JSON', zodDetails(parsed.error));
  const { objectId, idProperty } = parsed.data;
  if (idProperty !== undefined && !state.uniqueProperties.has(idProperty)) return validationError(`${idProperty} is not a unique property of contacts.`);
  const contact = lookup(state, objectId, idProperty);
  if (!contact) return notFound(objectId);
  state.contacts.delete(contact.id);
  return { status: 204, body: undefined };
}

/**
 * Batch read by id (or a unique property): the requested properties of each contact found;
 * ids not found are named in a 207's OBJECT_NOT_FOUND error, as HubSpot answers a partial read.
 */
export function batchRead(state: HubSpotState, raw: unknown): Answer<unknown> {
  const parsed = ReadBody.safeParse(raw);
  if (!parsed.success) return validationError('Invalid input JSON', zodDetails(parsed.error));
  const { inputs, properties, idProperty } = parsed.data;
  if (inputs.length > MAX_BATCH_INPUTS) return validationError(`Batch input limit exceeded: ${inputs.length} inputs, at most ${MAX_BATCH_INPUTS} allowed.`);
  if (idProperty !== undefined && !state.uniqueProperties.has(idProperty)) return validationError(`${idProperty} is not a unique property of contacts.`);
  const startedAt = new Date().toISOString();
  const results = [];
  const missing: string[] = [];
  for (const { id } of inputs) {
    const contact = lookup(state, id, idProperty);
    if (!contact) {
      missing.push(id);
      continue;
    }
    const picked = Object.fromEntries(properties.filter((p) => p in contact.properties).map((p) => [p, contact.properties[p]!]));
    results.push({ ...publicContact(contact), properties: { ...picked, hs_object_id: contact.id } });
  }
  const done = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  if (missing.length === 0) return { status: 200, body: done };
  const notFoundError = {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
    context: { ids: missing },
    errors: [],
    links: {},
  };
  return { status: 207, body: { ...done, numErrors: 1, errors: [notFoundError] } };
}

function lookup(state: HubSpotState, id: string, idProperty: string | undefined): HubSpotContact | undefined {
  return idProperty === undefined || idProperty === 'hs_object_id' ? state.contacts.get(id) : findContact(state, idProperty, id);
}

function notFound(id: string): Refusal {
  return { status: 404, body: errorBody('OBJECT_NOT_FOUND', `resource not found: no contact ${id}`) };
}

function newContact(state: HubSpotState, now: string): HubSpotContact {
  const contact: HubSpotContact = { id: String(state.nextId++), properties: {}, createdAt: now, updatedAt: now };
  contact.properties.createdate = now;
  state.contacts.set(contact.id, contact);
  return contact;
}

/** Writes `changes` over `properties`; an empty string clears a property, as on HubSpot. */
function merged(properties: Record<string, string>, changes: Record<string, string>): Record<string, string> {
  const result = { ...properties };
  for (const [name, value] of Object.entries(changes)) {
    if (value === '') delete result[name];
    else result[name] = value;
  }
  return result;
}

function normalized(property: string, value: string): string {
  return property === 'email' ? value.toLowerCase() : value;
}

/** Unknown properties and malformed emails, all named in one VALIDATION_ERROR as HubSpot lists them. */
function invalidProperties(state: HubSpotState, properties: Record<string, string>): Refusal | undefined {
  const errors: ErrorDetail[] = [];
  for (const name of Object.keys(properties)) {
    if (!state.knownProperties.has(name)) {
      errors.push({ message: `Property "${name}" does not exist`, code: 'PROPERTY_DOESNT_EXIST', context: { propertyName: [name] } });
    }
  }
  const email = properties.email;
  if (email !== undefined && email !== '' && !EMAIL.test(email)) {
    errors.push({ message: `Email address ${email} is invalid`, code: 'INVALID_EMAIL', context: { propertyName: ['email'] } });
  }
  return errors.length > 0 ? validationError('Property values were not valid', errors) : undefined;
}

/**
 * Emails are unique per portal. When any planned write would give a contact an email another
 * contact holds (before or within this request), the whole request is refused with 409, naming
 * the holder: HubSpot's batch endpoints refuse the batch (its docs show no per-input 207 for a
 * duplicate email), so a client must find the bad input itself.
 */
function emailConflict(state: HubSpotState, plans: { target: HubSpotContact | undefined; properties: Record<string, string> }[]): Refusal | undefined {
  // Contacts rewritten by this request hold the emails the request gives them, not their old ones.
  const written = new Set(plans.flatMap((plan) => (plan.target ? [plan.target.id] : [])));
  const holders = new Map<string, string>();
  for (const contact of state.contacts.values()) {
    const email = contact.properties.email;
    if (email && !written.has(contact.id)) holders.set(email.toLowerCase(), contact.id);
  }
  const planned = new Map<string, string>();
  for (const plan of plans) {
    const email = plan.properties.email?.toLowerCase();
    if (!email) continue;
    const holder = holders.get(email);
    if (holder !== undefined && holder !== plan.target?.id) return conflictBody(holder);
    const sibling = planned.get(email);
    if (sibling !== undefined) return conflictBody(sibling);
    planned.set(email, plan.target?.id ?? '');
  }
  return undefined;
}

function conflictBody(existingId: string): Refusal {
  // HubSpot names the holder in the message, which clients parse; a holder made in this same batch has no id yet.
  const message = existingId === '' ? 'Contact already exists (duplicate email within the batch).' : `Contact already exists. Existing ID: ${existingId}`;
  return { status: 409, body: errorBody('CONFLICT', message) };
}

function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => ({ message: issue.message, in: issue.path.map(String).join('.') }));
}
