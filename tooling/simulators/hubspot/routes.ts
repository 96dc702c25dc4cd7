import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerControlRoutes } from '../sim-common.js';
import { batchRead, batchUpsert, gdprDelete, patchContact, publicContact } from './contacts.js';
import { errorBody } from './errors.js';
import { admitRequest, rateLimitBody, rateLimitHeaders } from './rate-limits.js';
import { hubSpotControls, hubSpotStats, type HubSpotState } from './state.js';
import { emitPropertyChanges } from './webhooks.js';

const CONTACTS = '/crm/v3/objects/contacts';

type PatchRequest = FastifyRequest<{ Params: { contactId: string }; Querystring: { idProperty?: string } }>;

export function registerHubSpotRoutes(app: FastifyInstance, state: HubSpotState): void {
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    await reply.code(status).send(errorBody(status === 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR', error.message));
  });
  // Every API request passes the token check, then the limits, then the faults, in HubSpot's order:
  // an unauthenticated request is refused before it is counted against any app's limits.
  app.addHook('preHandler', async (request, reply) => {
    if (!request.url.startsWith('/crm/')) return;
    state.counters.requests += 1;
    state.inFlight += 1;
    reply.raw.once('close', () => {
      state.inFlight -= 1;
    });
    await gate(state, request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/crm/')) return;
    const status = String(reply.statusCode);
    state.counters.byStatus[status] = (state.counters.byStatus[status] ?? 0) + 1;
  });

  app.post(`${CONTACTS}/batch/upsert`, async (request, reply) => {
    const { status, body } = batchUpsert(state, request.body);
    return reply.code(status).send(body);
  });
  app.post(`${CONTACTS}/batch/read`, async (request, reply) => {
    const { status, body } = batchRead(state, request.body);
    return reply.code(status).send(body);
  });
  app.patch(`${CONTACTS}/:contactId`, async (request: PatchRequest, reply) => {
    const answer = patchContact(state, request.params.contactId, request.query.idProperty, request.body);
    if (answer.changes) emitPropertyChanges(state, answer.changes);
    return reply.code(answer.status).send(answer.body);
  });
  app.post(`${CONTACTS}/gdpr-delete`, async (request, reply) => {
    const { status, body } = gdprDelete(state, request.body);
    return reply.code(status).send(body);
  });

  registerControlRoutes(app, hubSpotControls(state));
  app.get('/_sim/contacts', async () => ({ contacts: [...state.contacts.values()].map(publicContact) }));
  app.get('/_sim/stats', async () => hubSpotStats(state));
}

async function gate(state: HubSpotState, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.headers.authorization !== `Bearer ${state.accessToken}`) {
    await reply.code(401).send(
      errorBody('INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and private app access tokens.'),
    );
    return;
  }
  const now = Date.now();
  if (state.faults.rateLimitNext > 0) {
    state.faults.rateLimitNext -= 1;
    // As a spent window looks: nothing remaining, and the request not counted.
    void reply.headers({ ...rateLimitHeaders(state, now), 'x-hubspot-ratelimit-remaining': '0' });
    await reply.code(429).send(rateLimitBody('TEN_SECONDLY_ROLLING'));
    return;
  }
  const admission = admitRequest(state, now);
  void reply.headers(rateLimitHeaders(state, now));
  if (!admission.admitted) {
    state.counters.rateLimited += 1;
    await reply.code(429).send(rateLimitBody(admission.policy));
    return;
  }
  if (state.faults.latencyMs > 0) await sleep(state.faults.latencyMs);
  // Read after the delay, so a switch flipped meanwhile applies to requests already waiting.
  if (state.faults.down) {
    await reply.code(503).send(errorBody('SERVICE_UNAVAILABLE', 'simulated outage: HubSpot is down'));
    return;
  }
  if (state.faults.failNext > 0) {
    state.faults.failNext -= 1;
    await reply.code(500).send(errorBody('INTERNAL_ERROR', 'simulated internal error (failNext)'));
  }
}
