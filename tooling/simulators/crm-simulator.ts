import Fastify from 'fastify';
import { copyContact } from './crm-contacts.js';
import { registerCrmRoutes } from './crm-routes.js';
import { createCrmState, crmControls, crmStats } from './crm-state.js';
import type { CrmContact, CrmDeletion, CrmFaults, CrmStats, CrmWebhook } from './crm-state.js';
import { listeningPort, urlHost } from './sim-common.js';

/**
 * A local stand-in for the CRM: the same REST protocol the CRM adapter speaks
 * (version-guarded upsert by external id, contacts unique by email, delete), a record of everything it received,
 * and switches to make it slow, flaky, rate-limited or down.
 */

export type { CrmContact, CrmDeletion, CrmFaults, CrmStats, CrmWebhook } from './crm-state.js';
export type { ConflictBody } from './crm-contacts.js';
export { maxInSlidingWindow } from './sliding-window.js';

export interface CrmSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Writes (PUT, DELETE) per sliding second, counted on arrival (before any latency); 0 turns the limit off. */
  rateLimitPerSecond?: number;
  logger?: boolean;
  faults?: Partial<CrmFaults>;
}

export interface CrmSimulator {
  url: string;
  port: number;
  webhooks(): CrmWebhook[];
  contacts(): CrmContact[];
  contact(externalId: string): CrmContact | undefined;
  /** Contacts removed by DELETE, oldest first. */
  deleted(): CrmDeletion[];
  stats(): CrmStats;
  faults(): CrmFaults;
  setFaults(patch: Partial<CrmFaults>): CrmFaults;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startCrmSimulator(opts: CrmSimulatorOptions = {}): Promise<CrmSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const state = createCrmState(opts.rateLimitPerSecond ?? 0, opts.faults ?? {});
  // Closing cuts open connections instead of waiting: hung requests never finish, and clients
  // may hold freshly opened keep-alive sockets that the default graceful close waits out.
  const app = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });
  registerCrmRoutes(app, state);

  await app.listen({ host, port: opts.port ?? 0 });
  const port = listeningPort(app.server, opts.port ?? 0);
  const { faults, setFaults, clearFaults, reset } = crmControls(state);

  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    contacts: () => [...state.store.values()].map(copyContact),
    webhooks: () => state.webhooks.map((w) => ({ ...w })),
    contact: (externalId) => {
      const contact = state.store.get(externalId);
      return contact ? copyContact(contact) : undefined;
    },
    deleted: () => state.deleted.map((d) => ({ ...d })),
    stats: () => crmStats(state),
    faults,
    setFaults,
    clearFaults,
    reset,
    close: () => app.close(),
  };
}
