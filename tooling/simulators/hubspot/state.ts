import { z } from 'zod';
import { faultControls, type SimControls } from '../sim-common.js';
import { SlidingWindow } from '../sliding-window.js';

/** Everything the HubSpot simulator remembers between requests, and the switches that change how it answers. */

const faultsSchema = z.strictObject({
  /** Added to every API answer (after the rate limit counted the request). */
  latencyMs: z.int().min(0),
  /** The next N API requests answer 500. */
  failNext: z.int().min(0),
  /** The next N API requests answer 429 as over the rolling limit (a burst from another app of the portal), uncounted like any 429. */
  rateLimitNext: z.int().min(0),
  /** Every API request answers 503. */
  down: z.boolean(),
});
export type HubSpotFaults = z.infer<typeof faultsSchema>;
const faultsPatchSchema = faultsSchema.partial();
const NO_FAULTS: HubSpotFaults = { latencyMs: 0, failNext: 0, rateLimitNext: 0, down: false };

/** A contact as HubSpot keeps it: its own numeric id (as a string) and string-valued properties. */
export interface HubSpotContact {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** Where and how the simulator sends `contact.propertyChange` webhooks (a HubSpot app's webhook settings). */
export interface WebhookSettings {
  targetUrl: string;
  /** The app's client secret: the key of the v3 signature. */
  clientSecret: string;
  appId: number;
  portalId?: number | undefined;
  subscriptionId?: number | undefined;
}

/** One webhook POST the simulator made, and how the target answered (0: unreachable). */
export interface WebhookDelivery {
  events: unknown[];
  status: number;
  sentAt: string;
}

export interface HubSpotLimits {
  /** Requests per rolling window: 100 on Free/Starter, 190 on Professional/Enterprise. */
  perWindow: number;
  windowMs: number;
  /** Requests per day: 250,000 on Free/Starter. */
  daily: number;
}

export interface HubSpotStats {
  /** API requests (/crm/...), whatever their answer; control routes are not counted. */
  requests: number;
  /** Inputs carried by batch upserts that were answered 2xx. */
  records: number;
  byStatus: Record<string, number>;
  /** Requests answered 429 by the rolling or daily limit (not by the rateLimitNext fault). */
  rateLimited: number;
  /** Peak API requests admitted (not 429) within any sliding second, and within any rolling window. */
  maxPerSecond: number;
  maxPerWindow: number;
  /** API requests being handled right now (those held by latencyMs included). */
  inFlight: number;
  contacts: number;
  webhooksSent: number;
}

export interface HubSpotState {
  readonly accessToken: string;
  readonly limits: HubSpotLimits;
  /** Properties whose values are unique per portal: the only valid `idProperty`s. */
  readonly uniqueProperties: ReadonlySet<string>;
  /** Every property the portal defines; writing another one is a VALIDATION_ERROR, as on HubSpot. */
  readonly knownProperties: ReadonlySet<string>;
  faults: HubSpotFaults;
  readonly contacts: Map<string, HubSpotContact>;
  nextId: number;
  webhooks: WebhookSettings | undefined;
  readonly deliveries: WebhookDelivery[];
  readonly pendingDeliveries: Set<Promise<void>>;
  nextEventId: number;
  inFlight: number;
  readonly window: SlidingWindow;
  readonly perSecond: SlidingWindow;
  /** Requests admitted on `day` (a UTC date); the cap resets when the date changes. */
  daily: { day: string; used: number };
  counters: { requests: number; records: number; byStatus: Record<string, number>; rateLimited: number; maxPerSecond: number; maxPerWindow: number };
}

export interface HubSpotStateOptions {
  accessToken: string;
  limits: HubSpotLimits;
  uniqueProperties: readonly string[];
  knownProperties: readonly string[];
  faults: Partial<HubSpotFaults>;
  webhooks: WebhookSettings | undefined;
}

function newCounters(): HubSpotState['counters'] {
  return { requests: 0, records: 0, byStatus: {}, rateLimited: 0, maxPerSecond: 0, maxPerWindow: 0 };
}

export function createHubSpotState(options: HubSpotStateOptions): HubSpotState {
  return {
    accessToken: options.accessToken,
    limits: options.limits,
    uniqueProperties: new Set(options.uniqueProperties),
    knownProperties: new Set([...options.knownProperties, ...options.uniqueProperties]),
    faults: { ...NO_FAULTS, ...faultsPatchSchema.parse(options.faults) },
    contacts: new Map(),
    // HubSpot's ids are numeric strings well beyond 1; starting high keeps tests from mistaking an index for an id.
    nextId: 1001,
    webhooks: options.webhooks,
    deliveries: [],
    pendingDeliveries: new Set(),
    nextEventId: 1,
    inFlight: 0,
    window: new SlidingWindow(options.limits.windowMs),
    perSecond: new SlidingWindow(),
    daily: { day: '', used: 0 },
    counters: newCounters(),
  };
}

export function hubSpotControls(state: HubSpotState): SimControls<HubSpotFaults> {
  return faultControls(state, faultsPatchSchema, NO_FAULTS, () => reset(state));
}

/** Forgets contacts, deliveries, counters and the limits' windows; webhook settings stay. */
function reset(state: HubSpotState): void {
  state.contacts.clear();
  state.deliveries.length = 0;
  state.window.clear();
  state.perSecond.clear();
  state.daily = { day: '', used: 0 };
  state.counters = newCounters();
  state.faults = { ...NO_FAULTS };
}

export function hubSpotStats(state: HubSpotState): HubSpotStats {
  return {
    ...state.counters,
    byStatus: { ...state.counters.byStatus },
    inFlight: state.inFlight,
    contacts: state.contacts.size,
    webhooksSent: state.deliveries.length,
  };
}

/** The contact whose unique property `name` holds `value`, if any (email compared case-insensitively, as HubSpot does). */
export function findContact(state: HubSpotState, name: string, value: string): HubSpotContact | undefined {
  const wanted = name === 'email' ? value.toLowerCase() : value;
  for (const contact of state.contacts.values()) {
    const held = contact.properties[name];
    if (held !== undefined && (name === 'email' ? held.toLowerCase() : held) === wanted) return contact;
  }
  return undefined;
}

export function copyHubSpotContact(contact: HubSpotContact): HubSpotContact {
  return { ...contact, properties: { ...contact.properties } };
}
