import { getHeapStatistics } from 'node:v8';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { apiKeysOf, codecCorsOriginsOf, rateLimitPerMinuteOf, fieldMapOf, traceParentSourcesOf, trustProxyOf, type Config } from '../config.js';
import { hubSpotLeadIds } from '../crm-inbound/hubspot-contacts.js';
import type { CrmWebhookOptions } from './routes/crm-webhooks.js';
import { temporalConnectionOptions } from '../temporal/connection.js';
import { dataConverterWith, encryptionCodecFromConfig } from '../temporal/payload-codec.js';
import { automationRunSettings } from '../temporal/automation-messages.js';
import type { LeadWorkflowSettings } from '../temporal/lead-messages.js';
import { Registry } from 'prom-client';
import { buildApp, buildOpsApp, type AppDeps, type ConsoleOptions, type MetricsOptions, type OverloadOptions, type TaskEventOptions, type TimeoutOptions } from './app.js';
import { LeadService } from '../leads/lead-service.js';
import { TemporalCalls } from '../temporal/calls.js';
import { AutomationService } from '../automations/service.js';
import { StatsService } from '../leads/stats.js';
import { TemporalWatchdog } from './watchdog.js';
import { loadAutomations } from '../automations/loader.js';
import { DEV_UNSUBSCRIBE_SECRET } from '../automations/unsubscribe.js';
import { startTracing } from '../tracing/tracing.js';
import { emailKeysFromConfig } from '../identity/email-key.js';
import { tokenBuckets, type RateLimiter } from './rate-limit.js';
import { redactingStream, REDACTED, scrubUrl, type LineSink } from './log-redaction.js';

const CRM_ACTIVITY_MARGIN_MS = 5000;

export function workflowSettingsFromConfig(config: Config): LeadWorkflowSettings {
  return {
    crmTaskQueue: config.TEMPORAL_CRM_TASK_QUEUE,
    maxAttempts: config.RETRY_MAX_ATTEMPTS,
    initialIntervalMs: config.RETRY_INITIAL_INTERVAL_MS,
    maxIntervalMs: config.RETRY_MAX_INTERVAL_MS,
    continueAsNewAfterEvents: config.CONTINUE_AS_NEW_AFTER_EVENTS,
    crmResyncIntervalMs: config.CRM_RESYNC_INTERVAL_MS,
    // The CRM client gives up after CRM_TIMEOUT_MS; the margin covers the activity's work around the request.
    crmActivityTimeoutMs: config.CRM_TIMEOUT_MS + CRM_ACTIVITY_MARGIN_MS,
  };
}

export function leadServiceFromConfig(config: Config, client: Client | TemporalCalls): LeadService {
  return new LeadService(client, {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    settings: workflowSettingsFromConfig(config),
    queryTimeoutMs: config.QUERY_TIMEOUT_MS,
    writeTimeoutMs: config.WRITE_TIMEOUT_MS,
    readTimeoutMs: config.READ_TIMEOUT_MS,
    settleMs: config.READ_SETTLE_MS,
    emailKeys: emailKeysFromConfig(config),
  });
}

const MIB = 1024 * 1024;

export function overloadOptionsFromConfig(config: Config): OverloadOptions {
  return {
    maxEventLoopDelayMs: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * config.OVERLOAD_MAX_HEAP_USED_RATIO),
    maxRssBytes: config.OVERLOAD_MAX_RSS_MB * MIB,
  };
}

export function timeoutOptionsFromConfig(config: Config): TimeoutOptions {
  return {
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.CONNECTION_TIMEOUT_MS,
    handlerTimeoutMs: config.HANDLER_TIMEOUT_MS,
  };
}

export function taskEventOptionsFromConfig(config: Config): TaskEventOptions {
  return {
    maxStreams: config.SSE_MAX_STREAMS,
    maxDurationMs: config.SSE_MAX_DURATION_MS,
    pollIntervalMs: config.SSE_POLL_INTERVAL_MS,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
  };
}

/**
 * Automations for the API: the folder is loaded and validated here (an invalid file throws
 * AutomationLoadError and the API does not start), and manual runs get these settings.
 */
export function automationServiceFromConfig(config: Config, client: Client | TemporalCalls): AutomationService {
  return new AutomationService(client, loadAutomations(config.AUTOMATIONS_DIR), {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    runSettings: automationRunSettings(workflowSettingsFromConfig(config), config.AUTOMATION_TIME_SCALE),
    queryTimeoutMs: config.QUERY_TIMEOUT_MS,
    writeTimeoutMs: config.WRITE_TIMEOUT_MS,
    unsubscribeSecret: config.UNSUBSCRIBE_SECRET ?? DEV_UNSUBSCRIBE_SECRET,
  });
}

/** GET /api/stats over the lead and CRM task queues, within the read deadline. */
export function statsServiceFromConfig(config: Config, client: Client | TemporalCalls): StatsService {
  return new StatsService(client instanceof TemporalCalls ? client : new TemporalCalls(client), {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueues: [config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_CRM_TASK_QUEUE],
    readTimeoutMs: config.READ_TIMEOUT_MS,
  });
}

/**
 * The watchdog behind the alert rules (watchdog.ts), recording in `registry`, on a Temporal
 * connection of its own so it can run in the cluster's primary, which serves no requests.
 * Undefined when WATCHDOG_INTERVAL_MS is 0.
 */
export function startWatchdogFromConfig(config: Config, registry: Registry): { stop(): Promise<void> } | undefined {
  if (config.WATCHDOG_INTERVAL_MS === 0) return undefined;
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const calls = new TemporalCalls(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }));
  const watchdog = new TemporalWatchdog(statsServiceFromConfig(config, calls), registry, {
    intervalMs: config.WATCHDOG_INTERVAL_MS,
    pingTimeoutMs: config.WRITE_TIMEOUT_MS,
  });
  watchdog.start();
  return {
    async stop() {
      await watchdog.stop();
      await calls.drain();
      await connection.close();
    },
  };
}

/** The status page (/console): what it lists, where it links, how often it refreshes. */
export function consoleOptionsFromConfig(config: Config): ConsoleOptions {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    temporalUiUrl: config.TEMPORAL_UI_URL,
    refreshMs: config.CONSOLE_REFRESH_MS,
  };
}

/**
 * Builds the API from configuration: the public app (PORT) and the ops app (OPS_PORT), on
 * one Temporal client and one metrics registry. The connection is lazy so the API starts,
 * and answers /health and 503s, even while Temporal is still coming up.
 */
export async function buildApiFromConfig(
  config: Config,
  logger: FastifyServerOptions['logger'] = false,
  metrics: MetricsOptions = { registry: new Registry() },
  /** Where the rate limit is counted when several processes share it (cluster-rate-limit.ts); unset = this process. */
  rateLimiter?: RateLimiter,
): Promise<{ app: FastifyInstance; ops: FastifyInstance; close(): Promise<void> }> {
  // Off unless configured; then workflow calls carry the request's trace context.
  const tracing = await startTracing(config, 'ao-api');
  const connection = Connection.lazy(temporalConnectionOptions(config));
  // One codec for the client's payloads and the Web UI's /codec endpoint (off without keys).
  const codec = encryptionCodecFromConfig(config);
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterWith(codec),
    ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors() } } : {}),
  });
  // One record of open Temporal calls for both services, so close() waits for all of them.
  const calls = new TemporalCalls(client);
  const leads = leadServiceFromConfig(config, calls);
  // One set of buckets for both listeners, so the ops port is no second allowance.
  const perMinute = rateLimitPerMinuteOf(config);
  const limiter = perMinute > 0 ? (rateLimiter ?? tokenBuckets(perMinute)) : undefined;
  const deps: AppDeps = {
    leads,
    automations: automationServiceFromConfig(config, calls),
    stats: statsServiceFromConfig(config, calls),
    console: consoleOptionsFromConfig(config),
    apiKeys: apiKeysOf(config),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    logger,
    ...(limiter ? { rateLimiter: limiter } : {}),
    overload: overloadOptionsFromConfig(config),
    timeouts: timeoutOptionsFromConfig(config),
    metrics,
    codec,
    codecCorsOrigins: codecCorsOriginsOf(config),
    tracer: tracing?.tracer,
    traceParentFrom: traceParentSourcesOf(config),
    trustProxy: trustProxyOf(config),
    taskEvents: taskEventOptionsFromConfig(config),
    emailEvents: { secret: config.EMAIL_EVENTS_SECRET },
    crmWebhooks: crmWebhookOptionsFromConfig(config),
  };
  const app = await buildApp(deps);
  const ops = await buildOpsApp(deps);
  return {
    app,
    ops,
    async close() {
      try {
        await Promise.all([app.close(), ops.close()]);
        await leads.drain();
        await connection.close();
      } finally {
        // Last, so the spans of the requests that just finished are sent too.
        await tracing?.shutdown();
      }
    },
  };
}

/**
 * Pino options: structured JSON lines with the request id (`reqId`) on every line of a
 * request; emails, phones, plaintext API keys and bearer tokens redacted (see log-redaction.ts).
 * `destination` defaults to stdout; tests pass a sink to read the lines.
 */
export function loggerOptions(
  level: Config['LOG_LEVEL'],
  { apiKeys = [], destination = process.stdout }: { apiKeys?: string[]; destination?: LineSink } = {},
): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'email',
        'phone',
        '*.email',
        '*.phone',
        '*.*.email',
        '*.*.phone',
        'err.meta.email',
      ],
      censor: REDACTED,
    },
    serializers: {
      // Fastify's own request serializer, minus query values that may be personal data.
      req: (req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: scrubUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    stream: redactingStream(destination, apiKeys),
  } as FastifyServerOptions['logger'];
}
/** The CRM webhook intakes: HubSpot's with its app's client secret, the signed one with its keys. */
export function crmWebhookOptionsFromConfig(config: Config): CrmWebhookOptions {
  const hubspotOn = config.CRM_ADAPTER === 'hubspot' && config.HUBSPOT_CLIENT_SECRET !== undefined && config.HUBSPOT_ACCESS_TOKEN !== undefined;
  return {
    hubspot: {
      clientSecret: hubspotOn ? config.HUBSPOT_CLIENT_SECRET : undefined,
      url: config.HUBSPOT_WEBHOOK_URL,
      leadIds: hubspotOn
        ? hubSpotLeadIds({ baseUrl: config.HUBSPOT_BASE_URL, accessToken: config.HUBSPOT_ACCESS_TOKEN!, timeoutMs: config.CRM_TIMEOUT_MS })
        : undefined,
      customMap: fieldMapOf(config.HUBSPOT_PROPERTY_MAP) as Record<string, string>,
    },
    signed: {
      secrets: (config.CRM_WEBHOOK_SECRETS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      customMap: fieldMapOf(config.SALESFORCE_FIELD_MAP) as Record<string, string>,
    },
  };
}
