import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * A local stand-in for the CRM: the same REST protocol the CRM adapter speaks
 * (version-guarded upsert by external id), a record of everything it received,
 * and switches to make it slow, flaky, rate-limited or down.
 */

const faultsSchema = z.strictObject({
  latencyMs: z.int().min(0),
  latencyJitterMs: z.int().min(0),
  errorRate: z.number().min(0).max(1),
  rate429: z.number().min(0).max(1),
  retryAfterSeconds: z.int().min(0),
  hangRate: z.number().min(0).max(1),
  down: z.boolean(),
  failNext: z.int().min(0),
  badRequestNext: z.int().min(0),
});

export type CrmFaults = z.infer<typeof faultsSchema>;

const faultsPatchSchema = faultsSchema.partial();

const upsertBodySchema = z.object({
  version: z.int().min(1),
  lead: z.record(z.string(), z.unknown()),
});

const NO_FAULTS: CrmFaults = {
  latencyMs: 0,
  latencyJitterMs: 0,
  errorRate: 0,
  rate429: 0,
  retryAfterSeconds: 1,
  hangRate: 0,
  down: false,
  failNext: 0,
  badRequestNext: 0,
};

const KEYS_KEPT = 50;
const WINDOW_MS = 1000;

export interface CrmContact {
  externalId: string;
  version: number;
  lead: Record<string, unknown>;
  creates: number;
  /** Accepted writes that changed the contact, the creating write included. */
  writes: number;
  staleWrites: number;
  duplicateKeys: number;
  /** The last idempotency keys seen for this contact, oldest first. */
  keys: string[];
  createdAt: string;
  updatedAt: string;
}

export interface CrmStats {
  /** Requests to /contacts/* (inspection and health endpoints are not counted). */
  requests: number;
  byStatus: Record<string, number>;
  maxConcurrent: number;
  /** Peak number of PUTs answered 2xx within any sliding one-second window. */
  maxPerSecond: number;
  /**
   * Peak number of PUTs that arrived within any sliding one-second window, counted on arrival
   * whatever their answer: what a CRM's own rate limiter sees of its clients.
   */
  maxArrivalsPerSecond: number;
  /**
   * Peak number of PUTs whose sender's rate limiter granted them within one sliding second,
   * from their `X-Rate-Limit-Granted-At` header (the workers' clock): what the workers sent,
   * whatever delays or stalls bunched them up on the way in. Requests without the header are
   * counted in `ungranted`.
   */
  maxGrantedPerSecond: number;
  ungranted: number;
  /** PUTs held without an answer by the hang fault. */
  hung: number;
  /** PUTs answered 429 by the rate limit (`rateLimitPerSecond`), not by the rate429 fault. */
  rateLimited: number;
  /** Requests to /contacts/* being handled right now (hung ones included). */
  inFlight: number;
  contacts: number;
  creates: number;
  writes: number;
  staleWrites: number;
  duplicateKeys: number;
}

export interface CrmSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** PUTs per sliding second, counted on arrival (before any latency); 0 turns the limit off. */
  rateLimitPerSecond?: number;
  logger?: boolean;
  faults?: Partial<CrmFaults>;
}

/** A webhook the simulator received at POST /webhooks/:name (the sales team's inbox in the demo). */
export interface CrmWebhook {
  name: string;
  idempotencyKey: string | null;
  /** An earlier webhook carried the same Idempotency-Key. */
  duplicate: boolean;
  body: unknown;
  receivedAt: string;
}

export interface CrmSimulator {
  url: string;
  port: number;
  webhooks(): CrmWebhook[];
  contacts(): CrmContact[];
  contact(externalId: string): CrmContact | undefined;
  stats(): CrmStats;
  faults(): CrmFaults;
  setFaults(patch: Partial<CrmFaults>): CrmFaults;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

interface Counters {
  requests: number;
  byStatus: Record<string, number>;
  maxConcurrent: number;
  maxPerSecond: number;
  maxArrivalsPerSecond: number;
  hung: number;
  rateLimited: number;
}

function newCounters(): Counters {
  return { requests: 0, byStatus: {}, maxConcurrent: 0, maxPerSecond: 0, maxArrivalsPerSecond: 0, hung: 0, rateLimited: 0 };
}

/** Timestamps of events within the last second, oldest first. */
class SlidingWindow {
  private readonly times: number[] = [];

  count(now: number): number {
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - WINDOW_MS) this.times.shift();
    return this.times.length;
  }

  add(now: number): number {
    this.count(now);
    this.times.push(now);
    return this.times.length;
  }

  clear(): void {
    this.times.length = 0;
  }
}

/**
 * The peak number of grant times in one sliding second, kept as requests come in: grants
 * arrive nearly in order, so only those of the minute before the newest are kept (sorted), and a new one
 * can only change the windows within a second either side of it. Memory and work stay
 * bounded however long the simulator runs.
 */
class GrantWindow {
  private readonly times: number[] = [];
  max = 0;

  add(grantedAt: number): void {
    const newest = Math.max(grantedAt, this.times.at(-1) ?? grantedAt);
    while (this.times.length > 0 && this.times[0]! < newest - GRANTS_KEPT_MS) this.times.shift();
    let at = this.times.length;
    while (at > 0 && this.times[at - 1]! > grantedAt) at -= 1;
    this.times.splice(at, 0, grantedAt);
    const near = this.times.filter((t) => t > grantedAt - WINDOW_MS && t < grantedAt + WINDOW_MS);
    this.max = Math.max(this.max, maxInSlidingWindow(near, WINDOW_MS));
  }
}

/** A grant a minute older than the newest one is beyond any CRM timeout: it cannot share a second with what comes. */
const GRANTS_KEPT_MS = 60_000;

/** The most times that fall within one window [t, t + windowMs) of the given length. */
export function maxInSlidingWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function copyContact(contact: CrmContact): CrmContact {
  return { ...contact, lead: structuredClone(contact.lead), keys: [...contact.keys] };
}

function errorBody(message: string, issues: unknown[] = []) {
  return { error: { message, issues } };
}

function zodIssues(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function isContactRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/contacts/') ?? false;
}

export async function startCrmSimulator(opts: CrmSimulatorOptions = {}): Promise<CrmSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const rateLimit = opts.rateLimitPerSecond ?? 0;
  const store = new Map<string, CrmContact>();
  const webhooks: CrmWebhook[] = [];
  // Every key ever seen per contact, so duplicates are found beyond the last KEYS_KEPT.
  const seenKeys = new Map<string, Set<string>>();
  const arrived = new SlidingWindow();
  // Grant times from the senders' limiters, and PUTs that came without one.
  let granted = new GrantWindow();
  let ungranted = 0;
  const admitted = new SlidingWindow();
  const accepted = new SlidingWindow();
  let faults: CrmFaults = { ...NO_FAULTS, ...faultsPatchSchema.parse(opts.faults ?? {}) };
  let counters = newCounters();
  let inFlight = 0;

  function setFaults(patch: Partial<CrmFaults>): CrmFaults {
    faults = { ...faults, ...faultsPatchSchema.parse(patch) };
    return { ...faults };
  }

  function clearFaults(): void {
    faults = { ...NO_FAULTS };
  }

  function reset(): void {
    store.clear();
    webhooks.length = 0;
    seenKeys.clear();
    counters = newCounters();
    arrived.clear();
    granted = new GrantWindow();
    ungranted = 0;
    admitted.clear();
    accepted.clear();
    clearFaults();
  }

  function stats(): CrmStats {
    const all = [...store.values()];
    const sum = (pick: (c: CrmContact) => number) => all.reduce((total, c) => total + pick(c), 0);
    return {
      ...counters,
      maxGrantedPerSecond: granted.max,
      ungranted,
      byStatus: { ...counters.byStatus },
      inFlight,
      contacts: all.length,
      creates: sum((c) => c.creates),
      writes: sum((c) => c.writes),
      staleWrites: sum((c) => c.staleWrites),
      duplicateKeys: sum((c) => c.duplicateKeys),
    };
  }

  function chance(rate: number): boolean {
    return rate > 0 && Math.random() < rate;
  }

  // Takes the reply away from Fastify and never answers; the socket stays open until the
  // client gives up or close() cuts every connection.
  function hang(reply: FastifyReply): void {
    counters.hung += 1;
    reply.hijack();
  }

  /**
   * Answers the PUT with a fault if one applies; returns true when it did. The rate limit
   * counts arrivals, as a CRM's gateway does, before the simulated processing time: counting
   * after a random latency would reorder requests and measure the simulator's own jitter.
   */
  async function injectFault(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const now = Date.now();
    const grantedAt = Number(headerValue(request, 'x-rate-limit-granted-at'));
    if (Number.isFinite(grantedAt) && grantedAt > 0) granted.add(grantedAt);
    else ungranted += 1;
    counters.maxArrivalsPerSecond = Math.max(counters.maxArrivalsPerSecond, arrived.add(now));
    if (rateLimit > 0) {
      if (admitted.count(now) >= rateLimit) {
        counters.rateLimited += 1;
        await reply.code(429).header('Retry-After', '1').send(errorBody('rate limit exceeded'));
        return true;
      }
      admitted.add(now);
    }
    const delay = faults.latencyMs + Math.round(Math.random() * faults.latencyJitterMs);
    if (delay > 0) await sleep(delay);

    if (faults.down) {
      await reply.code(503).send(errorBody('simulated outage: CRM is down'));
      return true;
    }
    if (chance(faults.hangRate)) {
      hang(reply);
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
      await reply
        .code(429)
        .header('Retry-After', String(faults.retryAfterSeconds))
        .send(errorBody('simulated rate limit'));
      return true;
    }
    if (chance(faults.errorRate)) {
      await reply.code(500).send(errorBody('simulated internal error'));
      return true;
    }
    return false;
  }

  function upsert(externalId: string, version: number, lead: Record<string, unknown>, key: string) {
    const now = new Date().toISOString();
    const existing = store.get(externalId);
    if (!existing) {
      store.set(externalId, {
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
      seenKeys.set(externalId, new Set([key]));
      return { status: 201, body: { externalId, version, created: true } };
    }

    const seen = seenKeys.get(externalId) ?? new Set<string>();
    if (seen.has(key)) existing.duplicateKeys += 1;
    seenKeys.set(externalId, seen.add(key));
    existing.keys.push(key);
    if (existing.keys.length > KEYS_KEPT) existing.keys.shift();

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

  async function handlePut(
    request: FastifyRequest<{ Params: { externalId: string } }>,
    reply: FastifyReply,
  ): Promise<void> {
    if (await injectFault(request, reply)) return;

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
    const { status, body } = upsert(request.params.externalId, parsed.data.version, parsed.data.lead, key);
    counters.maxPerSecond = Math.max(counters.maxPerSecond, accepted.add(Date.now()));
    await reply.code(status).send(body);
  }

  // Closing cuts open connections instead of waiting: hung requests never finish, and clients
  // may hold freshly opened keep-alive sockets that the default graceful close waits out.
  const app: FastifyInstance = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });

  // Malformed JSON and other framework-level 4xx use the same error shape as validation failures.
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    await reply.code(status).send(errorBody(error.message));
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!isContactRoute(request)) return;
    counters.requests += 1;
    inFlight += 1;
    counters.maxConcurrent = Math.max(counters.maxConcurrent, inFlight);
    reply.raw.once('close', () => {
      inFlight -= 1;
    });
  });

  app.addHook('onResponse', async (request, reply) => {
    if (!isContactRoute(request)) return;
    const status = String(reply.statusCode);
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
  });

  app.put<{ Params: { externalId: string } }>('/contacts/:externalId', handlePut);

  app.get<{ Params: { externalId: string } }>('/contacts/:externalId', async (request, reply) => {
    const contact = store.get(request.params.externalId);
    if (!contact) return reply.code(404).send(errorBody(`contact ${request.params.externalId} not found`));
    return copyContact(contact);
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/_sim/faults', async () => ({ ...faults }));

  app.post('/_sim/faults', async (request, reply) => {
    const parsed = faultsPatchSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send(errorBody('invalid faults', zodIssues(parsed.error)));
    return setFaults(parsed.data);
  });

  app.delete('/_sim/faults', async () => {
    clearFaults();
    return { ...faults };
  });

  app.get('/_sim/contacts', async () => ({ contacts: [...store.values()].map(copyContact) }));

  app.get('/_sim/stats', async () => stats());

  // Webhooks from automation runs: recorded with their Idempotency-Key, duplicates marked.
  app.post<{ Params: { name: string } }>('/webhooks/:name', async (request) => {
    const key = request.headers['idempotency-key'];
    const idempotencyKey = typeof key === 'string' ? key : null;
    const duplicate = idempotencyKey !== null && webhooks.some((w) => w.idempotencyKey === idempotencyKey);
    webhooks.push({ name: request.params.name, idempotencyKey, duplicate, body: request.body ?? null, receivedAt: new Date().toISOString() });
    if (webhooks.length > 10_000) webhooks.shift();
    return { received: true, duplicate };
  });

  app.get('/_sim/webhooks', async () => ({ webhooks }));

  app.post('/_sim/reset', async () => {
    reset();
    return { ok: true };
  });

  await app.listen({ host, port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    contacts: () => [...store.values()].map(copyContact),
    webhooks: () => webhooks.map((w) => ({ ...w })),
    contact: (externalId) => {
      const contact = store.get(externalId);
      return contact ? copyContact(contact) : undefined;
    },
    stats,
    faults: () => ({ ...faults }),
    setFaults,
    clearFaults,
    reset,
    close: () => app.close(),
  };
}
