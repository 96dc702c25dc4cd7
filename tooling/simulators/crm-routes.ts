import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { copyContact, deleteContact, upsertContact } from './crm-contacts.js';
import { injectFault } from './crm-faults.js';
import { crmControls, crmStats } from './crm-state.js';
import type { CrmState } from './crm-state.js';
import { errorBody, headerValue, registerControlRoutes, zodIssues } from './sim-common.js';

const upsertBodySchema = z.object({
  version: z.int().min(1),
  lead: z.record(z.string(), z.unknown()),
});

const WEBHOOKS_KEPT = 10_000;

type ContactRequest = FastifyRequest<{ Params: { externalId: string } }>;
type WebhookRequest = FastifyRequest<{ Params: { name: string } }>;

export function registerCrmRoutes(app: FastifyInstance, state: CrmState): void {
  app.setErrorHandler(handleError);
  app.addHook('onRequest', async (request, reply) => countRequest(state, request, reply));
  app.addHook('onResponse', async (request, reply) => countStatus(state, request, reply));

  app.put<{ Params: { externalId: string } }>('/contacts/:externalId', (request, reply) => handlePut(state, request, reply));
  app.get<{ Params: { externalId: string } }>('/contacts/:externalId', (request, reply) => getContact(state, request, reply));
  app.delete<{ Params: { externalId: string } }>('/contacts/:externalId', (request, reply) => handleDelete(state, request, reply));
  app.post<{ Params: { name: string } }>('/webhooks/:name', async (request) => receiveWebhook(state, request));

  registerControlRoutes(app, crmControls(state));
  app.get('/_sim/contacts', async () => ({ contacts: [...state.store.values()].map(copyContact), deleted: state.deleted.map((d) => ({ ...d })) }));
  app.get('/_sim/stats', async () => crmStats(state));
  app.get('/_sim/webhooks', async () => ({ webhooks: state.webhooks }));
}

// Malformed JSON and other framework-level 4xx use the same error shape as validation failures.
async function handleError(error: { statusCode?: number; message: string }, _request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
  await reply.code(status).send(errorBody(error.message));
}

function isContactRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/contacts/') ?? false;
}

function countRequest(state: CrmState, request: FastifyRequest, reply: FastifyReply): void {
  if (!isContactRoute(request)) return;
  state.counters.requests += 1;
  state.inFlight += 1;
  state.counters.maxConcurrent = Math.max(state.counters.maxConcurrent, state.inFlight);
  reply.raw.once('close', () => {
    state.inFlight -= 1;
  });
}

function countStatus(state: CrmState, request: FastifyRequest, reply: FastifyReply): void {
  if (!isContactRoute(request)) return;
  const status = String(reply.statusCode);
  state.counters.byStatus[status] = (state.counters.byStatus[status] ?? 0) + 1;
}

async function handlePut(state: CrmState, request: ContactRequest, reply: FastifyReply): Promise<void> {
  if (await injectFault(state, request, reply)) return;

  const key = headerValue(request, 'idempotency-key');
  if (key === undefined) {
    await reply.code(400).send(errorBody('missing Idempotency-Key header'));
    return;
  }
  const parsed = upsertBodySchema.safeParse(request.body);
  if (!parsed.success) {
    await reply.code(400).send(errorBody('invalid request body', zodIssues(parsed.error)));
    return;
  }
  const { status, body } = upsertContact(state, request.params.externalId, parsed.data.version, parsed.data.lead, key);
  if (status !== 409) countAccepted(state);
  await reply.code(status).send(body);
}

async function handleDelete(state: CrmState, request: ContactRequest, reply: FastifyReply): Promise<void> {
  if (await injectFault(state, request, reply)) return;
  if (!deleteContact(state, request.params.externalId)) {
    await reply.code(404).send(errorBody(`contact ${request.params.externalId} not found`));
    return;
  }
  countAccepted(state);
  await reply.code(204).send();
}

function countAccepted(state: CrmState): void {
  state.counters.maxPerSecond = Math.max(state.counters.maxPerSecond, state.accepted.add(Date.now()));
}

async function getContact(state: CrmState, request: ContactRequest, reply: FastifyReply) {
  const contact = state.store.get(request.params.externalId);
  if (!contact) return reply.code(404).send(errorBody(`contact ${request.params.externalId} not found`));
  return copyContact(contact);
}

// Webhooks from automation runs: recorded with their Idempotency-Key, duplicates marked.
function receiveWebhook(state: CrmState, request: WebhookRequest) {
  const key = request.headers['idempotency-key'];
  const idempotencyKey = typeof key === 'string' ? key : null;
  const duplicate = idempotencyKey !== null && state.webhooks.some((w) => w.idempotencyKey === idempotencyKey);
  state.webhooks.push({ name: request.params.name, idempotencyKey, duplicate, body: request.body ?? null, receivedAt: new Date().toISOString() });
  if (state.webhooks.length > WEBHOOKS_KEPT) state.webhooks.shift();
  return { received: true, duplicate };
}
