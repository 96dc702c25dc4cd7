import Fastify from 'fastify';
import { errorBody, faultControls, listeningPort, registerControlRoutes, urlHost } from '../sim-common.js';
import { registerApiRoutes, sfError } from './api-routes.js';
import { FlowCallouts, type FlowCalloutConfig, type FlowCalloutRecord } from './flow-callout.js';
import { leadJson, type SfLeadJson as SalesforceLeadJson } from './lead-rules.js';
import { registerOAuthRoutes } from './oauth-routes.js';
import { createSalesforceState, faultsPatchSchema, NO_FAULTS, resetSalesforceState, type SalesforceFaults, type SalesforceStats } from './sf-state.js';
import type { SfLead } from './lead-store.js';

/**
 * A local stand-in for a Salesforce org, as far as the connector (src/activities/crm/salesforce.ts)
 * uses one: the client-credentials token call, sObject Collections upsert of Leads by an
 * external id, GET and DELETE by external id, a sales rep's one-record edit that a Flow
 * reports to us through a signed callout, the daily API allowance, and fault switches.
 */

export type { SalesforceFaults, SalesforceStats } from './sf-state.js';
export type { FlowCalloutConfig, FlowCalloutRecord } from './flow-callout.js';

export interface SalesforceSimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /** How long an access token works (an org's session timeout); 2 hours by default. */
  tokenTtlMs?: number;
  /** API requests allowed per 24 hours (token calls are not counted). */
  dailyApiLimit?: number;
  externalIdField?: string;
  faults?: Partial<SalesforceFaults>;
  flowCallout?: FlowCalloutConfig;
  logger?: boolean;
}

export type { SfLeadJson as SalesforceLeadJson } from './lead-rules.js';

export interface SalesforceSimulator {
  url: string;
  port: number;
  /** Every Lead, as GET answers it. */
  records(): SalesforceLeadJson[];
  recordByExternalId(value: string): SalesforceLeadJson | undefined;
  stats(): SalesforceStats;
  faults(): SalesforceFaults;
  setFaults(patch: Partial<SalesforceFaults>): SalesforceFaults;
  clearFaults(): void;
  /** Every access token issued so far stops working (a revoked session, a timed-out one). */
  expireTokens(): void;
  /** Sets the requests spent of today's allowance. */
  setApiUsage(used: number): void;
  configureFlowCallout(config: FlowCalloutConfig | undefined): void;
  /** Change notices sent so far, with the target's answers. */
  callouts(): FlowCalloutRecord[];
  /** Resolves when every callout sent so far was answered. */
  calloutsSettled(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const SNAPSHOT_VERSION = 'v62.0';

export async function startSalesforceSimulator(opts: SalesforceSimulatorOptions = {}): Promise<SalesforceSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const stateOptions = {
    clientId: opts.clientId ?? 'sim-client-id',
    clientSecret: opts.clientSecret ?? 'sim-client-secret',
    tokenTtlMs: opts.tokenTtlMs ?? 2 * 3600_000,
    dailyApiLimit: opts.dailyApiLimit ?? 100_000,
    externalIdField: opts.externalIdField ?? 'AO_Lead_Id__c',
    faults: opts.faults ?? {},
  };
  const state = createSalesforceState(stateOptions);
  const callouts = new FlowCallouts(state);
  callouts.configure(opts.flowCallout);
  let url = '';

  const app = Fastify({ logger: opts.logger ?? false, forceCloseConnections: true });
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    await reply.code(status).send(status === 400 ? sfError('JSON_PARSER_ERROR', error.message) : sfError('UNKNOWN_EXCEPTION', error.message));
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/services/')) return;
    const status = String(reply.statusCode);
    state.stats.byStatus[status] = (state.stats.byStatus[status] ?? 0) + 1;
  });
  registerOAuthRoutes(app, state, () => url);
  registerApiRoutes(app, state, callouts);
  const controls = faultControls(state, faultsPatchSchema, NO_FAULTS, () => {
    resetSalesforceState(state);
    callouts.sent.length = 0;
  });
  registerControlRoutes(app, controls);
  app.get('/_sim/leads', async () => ({ leads: state.leads.all().map(snapshot) }));
  app.get('/_sim/stats', async () => state.stats);
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send(errorBody('no such route')));

  await app.listen({ host, port: opts.port ?? 0 });
  const port = listeningPort(app.server, opts.port ?? 0);
  url = `http://${urlHost(host)}:${port}`;

  return {
    url,
    port,
    records: () => state.leads.all().map(snapshot),
    recordByExternalId: (value) => {
      const lead = state.leads.withExternalId(value);
      return lead ? snapshot(lead) : undefined;
    },
    stats: () => structuredClone(state.stats),
    faults: controls.faults,
    setFaults: controls.setFaults,
    clearFaults: controls.clearFaults,
    expireTokens: () => state.tokens.clear(),
    setApiUsage: (used) => {
      state.apiUsed = used;
    },
    configureFlowCallout: (config) => callouts.configure(config),
    callouts: () => callouts.sent.map((c) => ({ ...c })),
    calloutsSettled: () => callouts.settled(),
    reset: controls.reset,
    close: () => app.close(),
  };
}

function snapshot(lead: SfLead): SalesforceLeadJson {
  return structuredClone(leadJson(lead, SNAPSHOT_VERSION));
}
