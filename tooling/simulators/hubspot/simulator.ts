import Fastify from 'fastify';
import { listeningPort, urlHost } from '../sim-common.js';
import { registerHubSpotRoutes } from './routes.js';
import {
  copyHubSpotContact,
  createHubSpotState,
  findContact,
  hubSpotControls,
  hubSpotStats,
  type HubSpotContact,
  type HubSpotFaults,
  type HubSpotLimits,
  type HubSpotStats,
  type WebhookDelivery,
  type WebhookSettings,
} from './state.js';

/**
 * A local stand-in for HubSpot's CRM Contacts v3 API as a private app sees it: batch upsert by a
 * unique property, a rep's PATCH of one contact (which sends signed `contact.propertyChange`
 * webhooks), the GDPR delete, the token check, the rolling and daily limits with their headers,
 * and switches to make it slow, failing or down. Requests and answers follow HubSpot's OpenAPI
 * document (contacts-v3.openapi.json; test/unit/hubspot-openapi.test.ts keeps them to it).
 */

export type { HubSpotContact, HubSpotFaults, HubSpotLimits, HubSpotStats, WebhookDelivery, WebhookSettings } from './state.js';
export { signV3 } from './webhooks.js';

/** HubSpot's default contact properties a connector may write, besides the portal's unique ones. */
export const STANDARD_PROPERTIES = ['email', 'firstname', 'lastname', 'company', 'phone', 'lifecyclestage', 'hs_lead_status'] as const;
/** The custom properties the orchestrator's HubSpot connector writes (a portal must define them). */
export const ORCHESTRATOR_PROPERTIES = ['ao_lead_id', 'ao_version', 'ao_score', 'ao_unsubscribed', 'ao_source', 'ao_tags'] as const;

export const FREE_TIER_LIMITS: HubSpotLimits = { perWindow: 100, windowMs: 10_000, daily: 250_000 };
export const PROFESSIONAL_TIER_LIMITS: HubSpotLimits = { perWindow: 190, windowMs: 10_000, daily: 1_000_000 };

export interface HubSpotSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The private app's token; requests must carry `Authorization: Bearer <token>`. */
  accessToken?: string;
  /** Defaults to Free/Starter's: 100 requests per rolling 10 seconds, 250,000 a day. */
  limits?: Partial<HubSpotLimits>;
  /** Properties with unique values (valid `idProperty`s); default email and ao_lead_id. */
  uniqueProperties?: readonly string[];
  /** Further properties the portal defines (custom fields); the standard and orchestrator ones always exist. */
  extraProperties?: readonly string[];
  webhooks?: WebhookSettings;
  faults?: Partial<HubSpotFaults>;
  logger?: boolean;
}

export interface HubSpotSimulator {
  url: string;
  port: number;
  accessToken: string;
  contacts(): HubSpotContact[];
  contact(id: string): HubSpotContact | undefined;
  contactByLeadId(leadId: string): HubSpotContact | undefined;
  stats(): HubSpotStats;
  faults(): HubSpotFaults;
  setFaults(patch: Partial<HubSpotFaults>): HubSpotFaults;
  clearFaults(): void;
  /** Starts (or stops, with undefined) sending webhooks for reps' edits. */
  setWebhooks(settings: WebhookSettings | undefined): void;
  /** Webhook POSTs made so far, oldest first. */
  webhookDeliveries(): WebhookDelivery[];
  /** Resolves when every webhook POST under way has been answered or given up. */
  webhooksSettled(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startHubSpotSimulator(opts: HubSpotSimulatorOptions = {}): Promise<HubSpotSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const accessToken = opts.accessToken ?? 'pat-sim-0000';
  const state = createHubSpotState({
    accessToken,
    limits: { ...FREE_TIER_LIMITS, ...opts.limits },
    uniqueProperties: opts.uniqueProperties ?? ['email', 'ao_lead_id'],
    knownProperties: [...STANDARD_PROPERTIES, ...ORCHESTRATOR_PROPERTIES, ...(opts.extraProperties ?? [])],
    faults: opts.faults ?? {},
    webhooks: opts.webhooks,
  });
  // Closing cuts open connections instead of waiting out clients' keep-alive sockets.
  const app = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });
  registerHubSpotRoutes(app, state);
  await app.listen({ host, port: opts.port ?? 0 });
  const port = listeningPort(app.server, opts.port ?? 0);
  const { faults, setFaults, clearFaults, reset } = hubSpotControls(state);
  const copy = (contact: HubSpotContact | undefined) => (contact ? copyHubSpotContact(contact) : undefined);

  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    accessToken,
    contacts: () => [...state.contacts.values()].map(copyHubSpotContact),
    contact: (id) => copy(state.contacts.get(id)),
    contactByLeadId: (leadId) => copy(findContact(state, 'ao_lead_id', leadId)),
    stats: () => hubSpotStats(state),
    faults,
    setFaults,
    clearFaults,
    setWebhooks: (settings) => {
      state.webhooks = settings;
    },
    webhookDeliveries: () => state.deliveries.map((d) => ({ ...d, events: structuredClone(d.events) })),
    webhooksSettled: async () => {
      await Promise.all([...state.pendingDeliveries]);
    },
    reset,
    close: async () => {
      await Promise.all([...state.pendingDeliveries]);
      await app.close();
    },
  };
}
