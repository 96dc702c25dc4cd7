import { readFileSync } from 'node:fs';
import { Ajv, type AnySchema } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubSpotConnector } from '../../src/activities/crm/hubspot.js';
import { hubSpotLeadIds } from '../../src/crm-inbound/hubspot-contacts.js';
import { startHubSpotSimulator, type HubSpotSimulator } from '../../tooling/simulators/hubspot/simulator.js';
import { leadRecord, recordingGate } from './hubspot-fixtures.js';

// HubSpot's own OpenAPI document (vendored, see tooling/simulators/hubspot/README.md) judges both
// sides: every request body the connector sends must match the operation's request schema, and
// every answer the simulator gives must match the operation's response schema for its status.

type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { content: Record<string, { schema: AnySchema }> }> };
};
type Operation = {
  requestBody?: { content: Record<string, { schema: AnySchema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: AnySchema }> }>;
};

const spec = JSON.parse(readFileSync(new URL('../../tooling/simulators/hubspot/contacts-v3.openapi.json', import.meta.url), 'utf8')) as Spec;
const SPEC_ID = 'hubspot-contacts-v3';

// ajv-formats is CommonJS: its default export arrives as the module object under some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * An ajv holding the spec's components under SPEC_ID, so its `#/components/schemas/...` refs
 * resolve. `closed` shuts every object schema that lists its properties: a request may carry no
 * field the spec does not name (a misspelt `idproperty` would otherwise pass). Answers are checked
 * open, as the spec leaves them: HubSpot's own error answers carry fields it does not list (status,
 * errorType, policyName).
 */
function validatorFor(closed: boolean): Ajv {
  // strict: false lets OpenAPI's own keywords (example, description on refs) through.
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  const components = closed ? closeObjects(structuredClone(spec.components)) : spec.components;
  ajv.addSchema({ $id: SPEC_ID, components } as AnySchema);
  return ajv;
}

function closeObjects<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(closeObjects);
  else if (node !== null && typeof node === 'object') {
    const schema = node as Record<string, unknown>;
    if (schema.type === 'object' && schema.properties !== undefined && schema.additionalProperties === undefined) schema.additionalProperties = false;
    Object.values(schema).forEach(closeObjects);
  }
  return node;
}

const requests = validatorFor(true);
const responses = validatorFor(false);

/** Rewrites a document-local ref to one into the components ajv holds. */
function rooted(schema: AnySchema): AnySchema {
  const ref = (schema as { $ref?: string }).$ref;
  return ref?.startsWith('#/') ? { $ref: `${SPEC_ID}${ref}` } : schema;
}

function operation(path: string, method: string): Operation {
  const op = spec.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`the spec has no ${method} ${path}`);
  return op;
}

function requestSchema(path: string, method: string): AnySchema {
  const schema = operation(path, method).requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`the spec has no JSON request body for ${method} ${path}`);
  return rooted(schema);
}

/** The schema of an answer with this status: the operation's own, else its default (the Error response). */
function responseSchema(path: string, method: string, status: number): AnySchema | 'empty' {
  const answers = operation(path, method).responses;
  const answer = answers[String(status)] ?? answers.default;
  if (!answer) throw new Error(`the spec allows no ${status} for ${method} ${path}`);
  const resolved = answer.$ref ? spec.components.responses[answer.$ref.split('/').pop()!] : answer;
  const content = resolved?.content ?? {};
  const schema = content['application/json']?.schema ?? content['*/*']?.schema;
  return schema ? rooted(schema) : 'empty';
}

/** The spec's path template a concrete URL path matches. */
function specPath(urlPath: string): string {
  if (spec.paths[urlPath]) return urlPath;
  const template = Object.keys(spec.paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(urlPath));
  if (!template) throw new Error(`the spec has no path for ${urlPath}`);
  return template;
}

interface Exchange {
  method: string;
  path: string;
  requestBody: unknown;
  status: number;
  responseText: string;
}

const exchanges: Exchange[] = [];

/** fetch that records what went out and what came back. */
const recordingFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input));
  const response = await fetch(input, init);
  const text = await response.clone().text();
  const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
  exchanges.push({ method: init?.method ?? 'GET', path: url.pathname, requestBody: body, status: response.status, responseText: text });
  return response;
};

let sim: HubSpotSimulator;

beforeAll(async () => {
  sim = await startHubSpotSimulator({ port: 0, limits: { perWindow: 40, windowMs: 60_000, daily: 1000 } });
  const connector = createHubSpotConnector({ baseUrl: sim.url, accessToken: sim.accessToken, timeoutMs: 2_000, gate: recordingGate(), fetch: recordingFetch });
  const lead = (i: number, email = `l${i}@example.com`) =>
    leadRecord(`L${i}`, email, 1, { last_name: 'Lovelace', company: 'Analytical', phone: '+1 555 0100', source: 'web', tags: ['a', 'b'], stage: 'customer' });

  // Creates, updates, a 409 bisected down to its record, a 400 for a bad value, 5xx, an outage, erasure found and not.
  await connector.upsert([lead(1), lead(2), lead(3)]);
  await connector.upsert([lead(1, 'ada@example.com'), lead(4, 'l2@example.com'), lead(5)]);
  await connector.upsert([lead(6, 'bad-address')]);
  sim.setFaults({ failNext: 1 });
  await connector.upsert([lead(7)]).catch(() => undefined);
  sim.setFaults({ down: true });
  await connector.upsert([lead(7)]).catch(() => undefined);
  sim.setFaults({ down: false });
  // The API's read of a webhook's contacts: all found, then one gone.
  const leadIds = hubSpotLeadIds({ baseUrl: sim.url, accessToken: sim.accessToken, timeoutMs: 2_000, fetch: recordingFetch });
  const contactIds = ['L1', 'L2'].map((id) => Number(sim.contactByLeadId(id)!.id));
  expect(await leadIds(contactIds)).toEqual(new Map([[contactIds[0], 'L1'], [contactIds[1], 'L2']]));
  await connector.erase('L1');
  expect(await leadIds(contactIds)).toEqual(new Map([[contactIds[1], 'L2']]));
  await connector.erase('L1');
  // A revoked token, and the rolling limit spent.
  const revoked = createHubSpotConnector({ baseUrl: sim.url, accessToken: 'pat-revoked', timeoutMs: 2_000, gate: recordingGate(), fetch: recordingFetch });
  await revoked.upsert([lead(8)]).catch(() => undefined);
  for (let i = 0; i < 50 && !exchanges.some((e) => e.status === 429); i++) await connector.erase('nobody').catch(() => undefined);
});

afterAll(async () => {
  await sim.close();
});

describe('HubSpot OpenAPI conformance', () => {
  it('refuses what the spec refuses (the checks below are not vacuous)', () => {
    const upsertRequest = requests.compile(requestSchema('/crm/v3/objects/contacts/batch/upsert', 'POST'));
    expect(upsertRequest({ inputs: [{ idProperty: 'ao_lead_id', id: 'L1', properties: { email: 'a@example.com' } }] })).toBe(true);
    expect(upsertRequest({ inputs: [{ idproperty: 'ao_lead_id', id: 'L1', properties: {} }] })).toBe(false);
    expect(upsertRequest({ inputs: [{ idProperty: 'ao_lead_id', id: 'L1', properties: { ao_score: 10 } }] })).toBe(false);
    const upsertAnswer = responses.compile(responseSchema('/crm/v3/objects/contacts/batch/upsert', 'POST', 200) as AnySchema);
    const result = { id: '1', properties: {}, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', archived: false, new: true };
    const answer = { status: 'COMPLETE', results: [result], startedAt: '2026-01-01T00:00:00Z', completedAt: '2026-01-01T00:00:00Z' };
    expect(upsertAnswer(answer)).toBe(true);
    expect(upsertAnswer({ ...answer, results: [{ ...result, new: undefined }] })).toBe(false);
    expect(upsertAnswer({ ...answer, status: 'DONE' })).toBe(false);
    const errorAnswer = responses.compile(responseSchema('/crm/v3/objects/contacts/gdpr-delete', 'POST', 404) as AnySchema);
    expect(errorAnswer({ status: 'error', message: 'x', correlationId: 'not-a-uuid', category: 'OBJECT_NOT_FOUND' })).toBe(false);
  });

  it('drove every answer the connector must understand', () => {
    const seen = new Set(exchanges.map((e) => `${e.path.split('/').pop()} ${e.status}`));
    for (const expected of ['read 200', 'read 207', 'upsert 200', 'upsert 409', 'upsert 400', 'upsert 500', 'upsert 503', 'upsert 401', 'gdpr-delete 204', 'gdpr-delete 404', 'gdpr-delete 429']) {
      expect(seen).toContain(expected);
    }
  });

  it("sends request bodies that match the spec's request schemas, with no field it does not name", () => {
    for (const exchange of exchanges) {
      const validate = requests.compile(requestSchema(specPath(exchange.path), exchange.method));
      expect(validate(exchange.requestBody) ? [] : validate.errors, `${exchange.method} ${exchange.path}`).toEqual([]);
    }
  });

  it("answers (simulator) with bodies that match the spec's response schemas for their status", async () => {
    // A rep's PATCH, which the connector never sends, is part of the simulator's contract too.
    sim.reset();
    const headers = { authorization: `Bearer ${sim.accessToken}`, 'content-type': 'application/json' };
    await recordingFetch(`${sim.url}/crm/v3/objects/contacts/batch/upsert`, { method: 'POST', headers, body: JSON.stringify({ inputs: [{ idProperty: 'ao_lead_id', id: 'P1', properties: { email: 'p@example.com' } }] }) });
    const id = sim.contactByLeadId('P1')!.id;
    await recordingFetch(`${sim.url}/crm/v3/objects/contacts/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ properties: { firstname: 'Pat' } }) });
    await recordingFetch(`${sim.url}/crm/v3/objects/contacts/99`, { method: 'PATCH', headers, body: JSON.stringify({ properties: {} }) });

    for (const exchange of exchanges) {
      const schema = responseSchema(specPath(exchange.path), exchange.method, exchange.status);
      const label = `${exchange.method} ${exchange.path} ${exchange.status}`;
      if (schema === 'empty') {
        expect(exchange.responseText, label).toBe('');
        continue;
      }
      const validate = responses.compile(schema);
      expect(validate(JSON.parse(exchange.responseText)) ? [] : validate.errors, label).toEqual([]);
    }
  });
});
