import { z } from 'zod';
import { faultControls, type SimControls } from './sim-common.js';
import { GrantWindow, SlidingWindow } from './sliding-window.js';

/** Everything the CRM simulator remembers between requests, and the switches that change how it answers. */

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

/** A contact removed by `DELETE /contacts/{externalId}`. */
export interface CrmDeletion {
  externalId: string;
  deletedAt: string;
}

/** The simulator's counters; "writes" are PUTs and DELETEs, which pass the same rate limit and faults. */
export interface CrmStats {
  /** Requests to /contacts/* (inspection and health endpoints are not counted). */
  requests: number;
  byStatus: Record<string, number>;
  maxConcurrent: number;
  /** Peak number of writes answered 2xx within any sliding one-second window. */
  maxPerSecond: number;
  /**
   * Peak number of writes that arrived within any sliding one-second window, counted on arrival
   * whatever their answer: what a CRM's own rate limiter sees of its clients.
   */
  maxArrivalsPerSecond: number;
  /**
   * Peak number of writes whose sender's rate limiter granted them within one sliding second,
   * from their `X-Rate-Limit-Granted-At` header (the workers' clock): what the workers sent,
   * whatever delays or stalls bunched them up on the way in. Requests without the header are
   * counted in `ungranted`.
   */
  maxGrantedPerSecond: number;
  ungranted: number;
  /** writes held without an answer by the hang fault. */
  hung: number;
  /** writes answered 429 by the rate limit (`rateLimitPerSecond`), not by the rate429 fault. */
  rateLimited: number;
  /** Requests to /contacts/* being handled right now (hung ones included). */
  inFlight: number;
  contacts: number;
  creates: number;
  writes: number;
  staleWrites: number;
  duplicateKeys: number;
  /** Writes refused with 409 because another contact holds their email. */
  conflicts: number;
  /** Contacts removed by DELETE. */
  deleted: number;
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

interface Counters {
  requests: number;
  byStatus: Record<string, number>;
  maxConcurrent: number;
  maxPerSecond: number;
  maxArrivalsPerSecond: number;
  hung: number;
  rateLimited: number;
}

export interface CrmState {
  /** writes admitted per sliding second; 0 turns the limit off. */
  readonly rateLimit: number;
  faults: CrmFaults;
  readonly store: Map<string, CrmContact>;
  /** Which contact holds each (lower-cased) email: a CRM keeps contacts unique by email. */
  readonly byEmail: Map<string, string>;
  readonly deleted: CrmDeletion[];
  conflicts: number;
  readonly webhooks: CrmWebhook[];
  /** Every key ever seen per contact, so duplicates are found beyond the last ones a contact keeps. */
  readonly seenKeys: Map<string, Set<string>>;
  counters: Counters;
  inFlight: number;
  readonly arrived: SlidingWindow;
  /** Grant times from the senders' limiters, and writes that came without one. */
  granted: GrantWindow;
  ungranted: number;
  readonly admitted: SlidingWindow;
  readonly accepted: SlidingWindow;
}

function newCounters(): Counters {
  return { requests: 0, byStatus: {}, maxConcurrent: 0, maxPerSecond: 0, maxArrivalsPerSecond: 0, hung: 0, rateLimited: 0 };
}

export function createCrmState(rateLimit: number, faults: Partial<CrmFaults>): CrmState {
  return {
    rateLimit,
    faults: { ...NO_FAULTS, ...faultsPatchSchema.parse(faults) },
    store: new Map(),
    byEmail: new Map(),
    deleted: [],
    conflicts: 0,
    webhooks: [],
    seenKeys: new Map(),
    counters: newCounters(),
    inFlight: 0,
    arrived: new SlidingWindow(),
    granted: new GrantWindow(),
    ungranted: 0,
    admitted: new SlidingWindow(),
    accepted: new SlidingWindow(),
  };
}

export function crmControls(state: CrmState): SimControls<CrmFaults> {
  return faultControls(state, faultsPatchSchema, NO_FAULTS, () => reset(state));
}

/** Forgets contacts, webhooks and counters; requests in flight still count down when they end. */
function reset(state: CrmState): void {
  state.store.clear();
  state.byEmail.clear();
  state.deleted.length = 0;
  state.conflicts = 0;
  state.webhooks.length = 0;
  state.seenKeys.clear();
  state.counters = newCounters();
  state.arrived.clear();
  state.granted = new GrantWindow();
  state.ungranted = 0;
  state.admitted.clear();
  state.accepted.clear();
  state.faults = { ...NO_FAULTS };
}

export function crmStats(state: CrmState): CrmStats {
  const all = [...state.store.values()];
  const sum = (pick: (c: CrmContact) => number) => all.reduce((total, c) => total + pick(c), 0);
  return {
    ...state.counters,
    maxGrantedPerSecond: state.granted.max,
    ungranted: state.ungranted,
    byStatus: { ...state.counters.byStatus },
    inFlight: state.inFlight,
    contacts: all.length,
    creates: sum((c) => c.creates),
    writes: sum((c) => c.writes),
    staleWrites: sum((c) => c.staleWrites),
    duplicateKeys: sum((c) => c.duplicateKeys),
    conflicts: state.conflicts,
    deleted: state.deleted.length,
  };
}
