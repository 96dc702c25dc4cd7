import type { Config } from '../../config.js';
import { fieldMapOf } from '../../config.js';
import { batchedCrm } from './batcher.js';
import type { CrmConnector, CrmRequestGate } from './connector.js';
import { createHubSpotConnector } from './hubspot.js';
import { createRequestGate, createSendLimiter, crmSendBudget, rateLimitedCrm } from './rate-limit.js';
import { createRestCrmClient, type CrmClient } from './rest.js';
import { createSalesforceConnector } from './salesforce.js';

const HUBSPOT_WINDOW_MS = 10_000;

/**
 * The CRM client a worker process's activities use, for CRM_ADAPTER:
 * - `rest`: one record per request to the local simulator's dialect, through the process's
 *   share of CRM_RATE_LIMIT_PER_SECOND (unchanged from before the vendor adapters);
 * - `hubspot`, `salesforce`: the vendor's connector behind the batcher, every vendor request
 *   through a gate holding the process's share of the vendor's limit and what its answers say.
 */
export function crmFromConfig(config: Config, options: { fetch?: typeof fetch; log?: (line: string) => void } = {}): CrmClient {
  const log = options.log ?? ((line: string) => console.warn(line));
  if (config.CRM_ADAPTER === 'rest') {
    const rest = createRestCrmClient({
      baseUrl: config.CRM_BASE_URL,
      apiKey: config.CRM_API_KEY,
      timeoutMs: config.CRM_TIMEOUT_MS,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    // The window starts full, so a worker restarted right after a crash cannot add to what it sent before.
    const budget = crmSendBudget(config);
    return budget ? rateLimitedCrm(rest, createSendLimiter({ limit: budget.perProcess, windowMs: budget.windowMs, quietStart: true })) : rest;
  }
  const gate = vendorGate(config, log);
  const connector = vendorConnector(config, gate, options.fetch);
  return batchedCrm(connector, {
    maxBatch: config.CRM_BATCH_MAX_RECORDS || connector.maxBatch,
    maxWaitMs: config.CRM_BATCH_WAIT_MS,
    maxInFlight: config.CRM_BATCH_MAX_IN_FLIGHT,
  });
}

/**
 * HubSpot's limit is per private app and rolling 10 s: each process takes its share of
 * HUBSPOT_REQUESTS_PER_10S. Salesforce has no short window, only the org's daily allowance,
 * which the gate learns from every answer.
 */
function vendorGate(config: Config, log: (line: string) => void): CrmRequestGate {
  const limiter =
    config.CRM_ADAPTER === 'hubspot'
      ? createSendLimiter({
          limit: Math.max(1, Math.floor(config.HUBSPOT_REQUESTS_PER_10S / config.WORKER_PROCESSES)),
          windowMs: HUBSPOT_WINDOW_MS + config.CRM_RATE_LIMIT_MARGIN_MS,
          // No quiet start (the REST limiter's guard against a restarted worker): HubSpot's answers
          // say what is left of its window, and the gate pauses on them, so a restart costs at
          // most one refused request instead of a 10 s wait before every worker's first write.
        })
      : undefined;
  return createRequestGate({
    limiter,
    onPause: (until, why) => log(`worker: CRM requests held until ${new Date(until).toISOString()}: ${why}`),
  });
}

function vendorConnector(config: Config, gate: CrmRequestGate, fetchFn: typeof fetch | undefined): CrmConnector {
  const traced = fetchFn ? { fetch: fetchFn } : {};
  if (config.CRM_ADAPTER === 'hubspot') {
    return createHubSpotConnector({
      baseUrl: config.HUBSPOT_BASE_URL,
      accessToken: config.HUBSPOT_ACCESS_TOKEN!,
      timeoutMs: config.CRM_TIMEOUT_MS,
      gate,
      properties: fieldMapOf(config.HUBSPOT_PROPERTY_MAP) as Record<string, string>,
      ...traced,
    });
  }
  return createSalesforceConnector({
    instanceUrl: config.SALESFORCE_INSTANCE_URL!,
    clientId: config.SALESFORCE_CLIENT_ID!,
    clientSecret: config.SALESFORCE_CLIENT_SECRET!,
    apiVersion: config.SALESFORCE_API_VERSION,
    sobject: config.SALESFORCE_OBJECT,
    externalIdField: config.SALESFORCE_EXTERNAL_ID_FIELD,
    timeoutMs: config.CRM_TIMEOUT_MS,
    gate,
    fields: fieldMapOf(config.SALESFORCE_FIELD_MAP) as Record<string, string>,
    ...traced,
  });
}
