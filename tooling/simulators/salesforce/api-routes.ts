import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { upsertCollection } from './collection-upsert.js';
import type { FlowCallouts } from './flow-callout.js';
import { applyPatch, checkLead, leadJson, unknownField } from './lead-rules.js';
import { sessionIsValid } from './oauth-routes.js';
import type { SalesforceState } from './sf-state.js';

/**
 * The REST API routes the connector and a sales rep's edits use, under
 * /services/data/vXX.X. Every one is an API request: checked for a live session, counted
 * against the daily allowance (reported in Sforce-Limit-Info), then slowed or failed by the
 * faults. Errors are Salesforce's shape: `[{message, errorCode, fields?}]`.
 */

/** API versions with sObject Collections upsert (46.0, Summer '19) up to Summer '26. */
const VERSION = /^v(\d+)\.0$/;
const MIN_VERSION = 46;
const MAX_VERSION = 67;
const MAX_RECORDS = 200;

const collectionBody = z.object({
  allOrNone: z.boolean().optional(),
  records: z.array(z.looseObject({ attributes: z.looseObject({ type: z.string() }) })),
});

type Params = { version: string; sobject: string; field?: string; value?: string; id?: string };
type ApiRequest = FastifyRequest<{ Params: Params }>;

export function sfError(errorCode: string, message: string, fields?: string[]) {
  return [{ message, errorCode, ...(fields ? { fields } : {}) }];
}

const NOT_FOUND = sfError('NOT_FOUND', 'The requested resource does not exist');

export function registerApiRoutes(app: FastifyInstance, state: SalesforceState, callouts: FlowCallouts): void {
  // Versions listing: Salesforce does not count it against the allowance.
  app.get('/services/data', async () =>
    Array.from({ length: MAX_VERSION - MIN_VERSION + 1 }, (_, i) => ({ version: `${MIN_VERSION + i}.0`, url: `/services/data/v${MIN_VERSION + i}.0` })),
  );

  void app.register(async (api) => {
    api.addHook('preHandler', async (request, reply) => admit(state, request as ApiRequest, reply));
    api.patch<{ Params: Params }>('/services/data/:version/composite/sobjects/:sobject/:field', (request, reply) => upsert(state, request, reply));
    api.get<{ Params: Params }>('/services/data/:version/sobjects/:sobject/:field/:value', (request, reply) => byExternalId(state, request, reply, 'get'));
    api.delete<{ Params: Params }>('/services/data/:version/sobjects/:sobject/:field/:value', (request, reply) => byExternalId(state, request, reply, 'delete'));
    api.get<{ Params: Params }>('/services/data/:version/sobjects/:sobject/:id', (request, reply) => byId(state, request, reply));
    api.delete<{ Params: Params }>('/services/data/:version/sobjects/:sobject/:id', (request, reply) => deleteById(state, request, reply));
    api.patch<{ Params: Params }>('/services/data/:version/sobjects/:sobject/:id', (request, reply) => repEdit(state, callouts, request, reply));
  });
}

async function admit(state: SalesforceState, request: ApiRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const version = Number(VERSION.exec(request.params.version)?.[1]);
  if (!(version >= MIN_VERSION && version <= MAX_VERSION) || request.params.sobject !== 'Lead') return reply.code(404).send(NOT_FOUND);
  if (!sessionIsValid(state, request.headers.authorization)) return reply.code(401).send(sfError('INVALID_SESSION_ID', 'Session expired or invalid'));
  if (state.apiUsed >= state.dailyApiLimit) {
    return reply.code(403).header('Sforce-Limit-Info', limitInfo(state)).send(sfError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'));
  }
  state.apiUsed += 1;
  state.stats.requests += 1;
  reply.header('Sforce-Limit-Info', limitInfo(state));
  if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
  // Read after the delay, so a switch flipped meanwhile applies to requests already waiting.
  if (state.faults.down || state.faults.failNext > 0) {
    if (!state.faults.down) state.faults.failNext -= 1;
    return reply.code(503).send(sfError('SERVER_UNAVAILABLE', 'simulated outage: the server is temporarily unavailable'));
  }
  return undefined;
}

function limitInfo(state: SalesforceState): string {
  return `api-usage=${state.apiUsed}/${state.dailyApiLimit}`;
}

async function upsert(state: SalesforceState, request: ApiRequest, reply: FastifyReply) {
  const field = request.params.field ?? '';
  if (field !== state.leads.externalIdField) return reply.code(404).send(sfError('NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`));
  const parsed = collectionBody.safeParse(request.body);
  if (!parsed.success) return reply.code(400).send(sfError('JSON_PARSER_ERROR', `invalid request body: ${parsed.error.issues[0]?.message ?? ''}`));
  const { records, allOrNone = false } = parsed.data;
  if (records.length > MAX_RECORDS) return reply.code(400).send(sfError('EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call`));
  const wrongType = records.find((r) => r.attributes.type !== 'Lead');
  if (wrongType) return reply.code(400).send(sfError('INVALID_TYPE', `sObject type '${wrongType.attributes.type}' does not match the request URI (Lead)`));
  const unknown = records.map((r) => unknownField(r)).find((f) => f !== undefined);
  if (unknown) return reply.code(400).send(sfError('INVALID_FIELD', `No such column '${unknown}' on sobject of type Lead`));
  return upsertCollection(state, records, allOrNone);
}

async function byExternalId(state: SalesforceState, request: ApiRequest, reply: FastifyReply, action: 'get' | 'delete') {
  if (request.params.field !== state.leads.externalIdField) return reply.code(404).send(NOT_FOUND);
  const lead = state.leads.withExternalId(request.params.value ?? '');
  if (!lead) return reply.code(404).send(NOT_FOUND);
  if (action === 'get') return leadJson(lead, request.params.version);
  state.leads.remove(lead.Id);
  state.stats.deleted += 1;
  return reply.code(204).send();
}

async function byId(state: SalesforceState, request: ApiRequest, reply: FastifyReply) {
  const lead = state.leads.get(request.params.id ?? '');
  return lead ? leadJson(lead, request.params.version) : reply.code(404).send(NOT_FOUND);
}

async function deleteById(state: SalesforceState, request: ApiRequest, reply: FastifyReply) {
  if (!state.leads.remove(request.params.id ?? '')) return reply.code(404).send(NOT_FOUND);
  state.stats.deleted += 1;
  return reply.code(204).send();
}

/** A sales rep's edit of one Lead (what the UI saves); a Flow then reports the change to us. */
async function repEdit(state: SalesforceState, callouts: FlowCallouts, request: ApiRequest, reply: FastifyReply) {
  const existing = state.leads.get(request.params.id ?? '');
  if (!existing) return reply.code(404).send(NOT_FOUND);
  const patch = z.record(z.string(), z.unknown()).safeParse(request.body);
  if (!patch.success) return reply.code(400).send(sfError('JSON_PARSER_ERROR', 'the body must be a JSON object'));
  const unknown = unknownField(patch.data);
  if (unknown) return reply.code(400).send(sfError('INVALID_FIELD', `No such column '${unknown}' on sobject of type Lead`));
  const now = new Date().toISOString();
  const lead = applyPatch(existing, existing.Id, patch.data, now);
  const errors = checkLead(state.leads, existing.Id, lead.fields);
  if (errors[0]) return reply.code(400).send(sfError(errors[0].statusCode, errors[0].message, errors[0].fields));
  state.leads.put(lead);
  const changed = Object.fromEntries(Object.entries(patch.data).filter(([name, value]) => name !== 'attributes' && existing.fields[name] !== value));
  const externalId = lead.fields[state.leads.externalIdField];
  if (typeof externalId === 'string') callouts.emit(externalId, changed, now);
  return reply.code(204).send();
}
