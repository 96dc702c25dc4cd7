import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CrmState } from './crm-state.js';
import { chance, errorBody, headerValue } from './sim-common.js';

/**
 * Answers the write (PUT or DELETE) with a fault if one applies; returns true when it did. The rate limit
 * counts arrivals, as a CRM's gateway does, before the simulated processing time: counting
 * after a random latency would reorder requests and measure the simulator's own jitter.
 */
export async function injectFault(state: CrmState, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const now = Date.now();
  countArrival(state, request, now);
  if (await rejectOverLimit(state, reply, now)) return true;
  const delay = state.faults.latencyMs + Math.round(Math.random() * state.faults.latencyJitterMs);
  if (delay > 0) await sleep(delay);
  // The switches are read after the delay, so a change made meanwhile applies to requests already waiting.
  return answerWithFault(state, reply);
}

function countArrival(state: CrmState, request: FastifyRequest, now: number): void {
  const grantedAt = Number(headerValue(request, 'x-rate-limit-granted-at'));
  if (Number.isFinite(grantedAt) && grantedAt > 0) state.granted.add(grantedAt);
  else state.ungranted += 1;
  state.counters.maxArrivalsPerSecond = Math.max(state.counters.maxArrivalsPerSecond, state.arrived.add(now));
}

async function rejectOverLimit(state: CrmState, reply: FastifyReply, now: number): Promise<boolean> {
  if (state.rateLimit <= 0) return false;
  if (state.admitted.count(now) >= state.rateLimit) {
    state.counters.rateLimited += 1;
    await reply.code(429).header('Retry-After', '1').send(errorBody('rate limit exceeded'));
    return true;
  }
  state.admitted.add(now);
  return false;
}

async function answerWithFault(state: CrmState, reply: FastifyReply): Promise<boolean> {
  const faults = state.faults;
  if (faults.down) {
    await reply.code(503).send(errorBody('simulated outage: CRM is down'));
    return true;
  }
  if (chance(faults.hangRate)) {
    hang(state, reply);
    return true;
  }
  if (faults.failNext > 0) {
    faults.failNext -= 1;
    await reply.code(500).send(errorBody('simulated internal error (failNext)'));
    return true;
  }
  if (faults.badRequestNext > 0) {
    faults.badRequestNext -= 1;
    await reply.code(422).send(errorBody('simulated validation error (badRequestNext)'));
    return true;
  }
  if (chance(faults.rate429)) {
    await reply.code(429).header('Retry-After', String(faults.retryAfterSeconds)).send(errorBody('simulated rate limit'));
    return true;
  }
  if (chance(faults.errorRate)) {
    await reply.code(500).send(errorBody('simulated internal error'));
    return true;
  }
  return false;
}

// Takes the reply away from Fastify and never answers; the socket stays open until the
// client gives up or close() cuts every connection.
function hang(state: CrmState, reply: FastifyReply): void {
  state.counters.hung += 1;
  reply.hijack();
}
