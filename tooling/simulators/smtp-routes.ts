import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stripBrackets } from './smtp-capture.js';
import { sinkControls } from './smtp-state.js';
import type { SinkState } from './smtp-state.js';
import { errorBody, registerControlRoutes, zodIssues } from './sim-common.js';
import { eventAddressesSchema } from './smtp-events.js';

/** The HTTP side of the sink: what tests and the demo read back of the mail that went out. */

type MessagesRequest = FastifyRequest<{ Querystring: { to?: string; message_id?: string } }>;
type MessageRequest = FastifyRequest<{ Params: { id: string } }>;

export function registerSinkRoutes(http: FastifyInstance, state: SinkState): void {
  http.get<{ Querystring: { to?: string; message_id?: string } }>('/messages', async (request) => listMessages(state, request));
  http.get<{ Params: { id: string } }>('/messages/:id', (request, reply) => getMessage(state, request, reply));
  http.delete('/messages', async () => {
    state.messages = [];
    return { ok: true };
  });
  http.get('/_sim/stats', async () => ({ ...state.stats }));
  // Which addresses bounce or complain (replaces both lists), and how many events went out.
  http.get('/_sim/email-events', async () => emailEventsView(state));
  http.post('/_sim/email-events', async (request, reply) => {
    const parsed = eventAddressesSchema.partial().safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send(errorBody('invalid email event addresses', zodIssues(parsed.error)));
    state.events.addresses = { ...state.events.addresses, ...parsed.data };
    return emailEventsView(state);
  });
  registerControlRoutes(http, sinkControls(state));
}

function listMessages(state: SinkState, request: MessagesRequest) {
  const to = request.query.to?.toLowerCase();
  const messageId = request.query.message_id === undefined ? undefined : stripBrackets(request.query.message_id);
  const matching = state.messages.filter(
    (m) =>
      (to === undefined || m.to.some((addr) => addr.toLowerCase() === to)) &&
      (messageId === undefined || m.messageId === messageId),
  );
  return { messages: matching };
}

async function getMessage(state: SinkState, request: MessageRequest, reply: FastifyReply) {
  const message = state.messages.find((m) => String(m.id) === request.params.id);
  if (!message) return reply.code(404).send(errorBody(`message ${request.params.id} not found`));
  return message;
}

function emailEventsView(state: SinkState) {
  const { url, addresses, sent, failed } = state.events;
  return { url: url ?? null, ...addresses, sent, failed };
}

