import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEV_UNSUBSCRIBE_SECRET } from './automations/unsubscribe.js';
import { DEV_EMAIL_HASH_SECRET, emailHashSecretsOf } from './identity/email-key.js';
import { DEV_EMAIL_EVENTS_SECRET } from './email-events/signature.js';
import { parseCodecKeys } from './temporal/codec-keys.js';
import { allowListEntryOf, parseAllowedHosts } from './activities/webhook-target.js';
import { parseAddressList } from './address-list.js';
import { parseApiKeys, plaintextKeysIn, type ApiKey } from './api-keys.js';

// Environment variables arrive as strings; these helpers turn them into typed values
// and let zod name the variable when a value is wrong.
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes'));
// `collector:4318` parses as a URL with the scheme `collector:`; OTLP/HTTP needs http(s).
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

export const configSchema = z.object({
  // Temporal
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233').describe('Temporal frontend, host:port.'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace of every workflow.'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('leads').describe('Task queue of the workflows, lead processing and email.'),
  TEMPORAL_CRM_TASK_QUEUE: z.string().min(1).default('leads-crm').describe('Task queue of the CRM writes only (rate-limited).'),
  TEMPORAL_DB_FILE: z.string().min(1).default('.data/temporal.sqlite').describe('SQLite file of the dev server npm start runs.'),
  TEMPORAL_UI_PORT: int(8233, 0, 65535).describe('Web UI port of the dev server npm start runs.'),
  TEMPORAL_START_DEV_SERVER: bool(true).describe('npm start runs a Temporal dev server; false to use an existing Temporal at TEMPORAL_ADDRESS.'),
  // A secured Temporal (Temporal Cloud, a cluster with TLS): read by the API and the workers.
  // TLS is on when TEMPORAL_TLS=true or any TLS file, server name or API key is set.
  TEMPORAL_TLS: optionalString.pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional()).describe('TLS to Temporal; unset = on when TEMPORAL_TLS_CERT, _CA, _SERVER_NAME or TEMPORAL_API_KEY is set.'),
  TEMPORAL_TLS_CERT: optionalString.describe('Path of the client certificate (PEM) for mTLS; needs TEMPORAL_TLS_KEY.'),
  TEMPORAL_TLS_KEY: optionalString.describe('Path of the client certificate\'s private key (PEM).'),
  TEMPORAL_TLS_CA: optionalString.describe('Path of the CA that signed the server\'s certificate; unset = the system roots.'),
  TEMPORAL_TLS_SERVER_NAME: optionalString.describe('Server name to verify in the server\'s certificate (SNI override).'),
  TEMPORAL_API_KEY: optionalString.describe('API key sent to Temporal as a bearer token (Temporal Cloud); turns TLS on.'),
  // Payload encryption keys, `<id>:<base64 32-byte key>,...`; the first one encrypts.
  TEMPORAL_CODEC_KEYS: optionalString.describe('Payload encryption keys, `<id>:<base64 32-byte key>` comma-separated: the first encrypts, any decrypts; unset = payloads in clear text.'),
  // Origins of the Temporal Web UI allowed to call the codec endpoint (comma-separated);
  // unset = the dev server's UI on TEMPORAL_UI_PORT (codecCorsOriginsOf).
  TEMPORAL_CODEC_CORS_ORIGINS: optionalString.describe('Web UI origins (comma-separated) allowed to call /codec/*; unset = the dev server\'s UI on TEMPORAL_UI_PORT.'),

  // `production` makes every process refuse development secrets and loopback links (productionRefusals).
  NODE_ENV: optionalString.describe('`production` makes every process refuse development secrets, loopback links, plain-TCP links and unencrypted payloads (the notes in this file).'),
  // Hosts (comma-separated) production may reach without TLS: services on a private network
  // that speak plain TCP, like compose's simulators and its own Temporal cluster.
  PLAINTEXT_ALLOWED_HOSTS: optionalString.describe('Hosts (comma-separated) production may reach without TLS: services on a private network.'),

  // Where the status page (/console) links each lead and run; unset = no links (npm start sets
  // it to its dev server's Web UI). http(s) only: it becomes the start of every link's href.
  TEMPORAL_UI_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()).describe('Temporal Web UI the status page (/console) links leads and runs into; unset = no links (npm start sets its dev server\'s).'),

  // HTTP API
  HOST: z.string().min(1).default('127.0.0.1').describe('API bind address; beyond loopback the API needs API_KEYS or ALLOW_OPEN_API=true.'),
  PORT: int(3000, 0, 65535).describe('API port.'),
  // The API's operations listener: /metrics, /ready, the payload codec for the Web UI and the
  // status page (/console). Loopback by default, like the workers' metrics; 0.0.0.0 in a
  // container so Prometheus on the container network scrapes it. 9460 sits below the
  // workers' metrics ports (9464, and npm start's 9464 + n - 1); 0 = any free port.
  OPS_HOST: z.string().min(1).default('127.0.0.1').describe('Bind address of the operations listener (/metrics, /ready, /codec/*, /console); beyond loopback it needs API_KEYS like HOST.'),
  OPS_PORT: int(9460, 0, 65535).describe('Port of the operations listener; 0 = a free port.'),
  API_PROCESSES: int(Math.min(availableParallelism(), 4), 1, 64).meta({ description: 'API processes sharing both ports.', defaultText: 'one per core, at most 4' }),
  API_KEYS: optionalString.describe('API keys, comma-separated `<id>:<scope>+<scope>:sha256:<hex>` entries (`ao keys new`; scopes read, write, admin); unset = open API, loopback only (docs/security.md).'),
  BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024).describe('Largest request body in bytes; larger ones get 413. `POST /api/leads/batch` takes up to 2 MiB (or this, if larger).'),
  QUERY_TIMEOUT_MS: int(2000, 50, 60_000).describe('How long a read that asks the workflow waits before answering from history, in ms; less than READ_TIMEOUT_MS.'),
  READ_SETTLE_MS: int(1000, 0, 60_000).describe('How long a read waits for a running workflow task to end before answering without it, in ms.'),
  WRITE_TIMEOUT_MS: int(5000, 100, 60_000).describe('Bound on a write\'s Temporal round trip, in ms; past it, 503 with Retry-After.'),
  READ_TIMEOUT_MS: int(5000, 100, 60_000).describe('Bound on a whole read (query, then the history fallback), in ms; past it, 503.'),
  HANDLER_TIMEOUT_MS: int(15_000, 1000, 600_000).describe('Backstop: a request unanswered this long gets 503 timeout, in ms; more than READ_TIMEOUT_MS and WRITE_TIMEOUT_MS.'),
  REQUEST_TIMEOUT_MS: int(30_000, 1000, 600_000).describe('Time allowed to receive a whole request (slow clients), in ms.'),
  CONNECTION_TIMEOUT_MS: int(60_000, 0, 3_600_000).describe('Idle socket timeout in ms; 0 = none.'),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: int(1000, 0, 60_000).describe('Shed load (503 overloaded, Retry-After) above this event-loop delay, in ms; 0 = off.'),
  OVERLOAD_MAX_HEAP_USED_RATIO: z.coerce.number().min(0).max(1).default(0.9).describe('Shed load above this share of the V8 heap limit; 0 = off.'),
  OVERLOAD_MAX_RSS_MB: int(0, 0, 1_048_576).describe('Shed load above this resident memory, in MB; 0 = off.'),
  // Unset: DEFAULT_RATE_LIMIT_PER_MINUTE when HOST is not loopback, off on loopback (rateLimitPerMinuteOf).
  RATE_LIMIT_PER_MINUTE: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(100_000_000).optional()).describe('Requests per minute per API key (per client address without one) on /api/* and /codec/*, all API processes together; a batch costs one per lead; 0 = off; unset = off on a loopback HOST, 6000 elsewhere.'),
  // Live task streams (GET /api/tasks/:id/events): each API process serves at most
  // SSE_MAX_STREAMS at once (503 too_many_streams past it), ends each after
  // SSE_MAX_DURATION_MS (the client reconnects with Last-Event-ID), reads the task every
  // SSE_POLL_INTERVAL_MS and sends a comment every SSE_HEARTBEAT_MS.
  SSE_MAX_STREAMS: int(200, 1, 100_000).describe('Live task streams (GET /api/tasks/:id/events) one API process serves at once; past it, 503 too_many_streams.'),
  SSE_MAX_DURATION_MS: int(30 * 60_000, 1000, 86_400_000).describe('A live task stream is closed after this long, in ms (the client reconnects with Last-Event-ID).'),
  SSE_POLL_INTERVAL_MS: int(1000, 100, 60_000).describe('How often a live task stream reads its task, in ms.'),
  SSE_HEARTBEAT_MS: int(15_000, 1000, 300_000).describe('A keep-alive comment on every live task stream this often, in ms; less than CONNECTION_TIMEOUT_MS.'),
  ALLOW_OPEN_API: bool(false).describe('Allow the API without API_KEYS beyond loopback and in production (something in front already guards it).'),
  // Fastify's trustProxy: unset/false, true, or addresses/CIDRs of the proxies (trustProxyOf).
  // Only then do request.ip and the protocol come from X-Forwarded-*.
  TRUST_PROXY: optionalString.describe('Fastify\'s trustProxy: the proxies\' addresses/CIDRs (comma-separated) or true; then client address and protocol come from X-Forwarded-*. Unset = no proxy trusted; a hop count is refused.'),
  // Peers (addresses/CIDRs) whose `traceparent` header a request's span continues; anyone
  // else starts a new trace (unset = loopback only, traceParentSourcesOf).
  TRACE_PARENT_FROM: optionalString.describe('Peers (addresses/CIDRs, comma-separated) whose traceparent header a request\'s span continues; unset = loopback.'),
  // How often the status page (/console) asks the API for fresh figures and lists.
  CONSOLE_REFRESH_MS: int(3000, 500, 600_000).describe('How often the status page (/console) asks for fresh figures and lists, in ms.'),
  // How often one API process per host asks Temporal for the figures the alert rules read
  // (task-queue backlog and pollers, leads retrying and failed, reachability); 0 = off.
  WATCHDOG_INTERVAL_MS: int(15_000, 0, 3_600_000).describe('How often one API process asks Temporal for the figures the alert rules read (docs/alerts.md), in ms; 0 = off.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (pino) of the API.'),

  // Worker
  WORKER_PROCESSES: int(1, 1, 64).describe('Worker processes npm start supervises.'),
  WORKER_MAX_CONCURRENT_ACTIVITIES: int(100, 1, 10_000).describe('Activities at once per worker process on the main task queue (email, automation steps).'),
  // CRM writes mostly wait on the CRM: enough in flight to keep a 50/s budget busy at a 10 s latency.
  CRM_MAX_CONCURRENT_WRITES: int(500, 1, 100_000).describe('CRM writes in flight per worker process.'),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: int(40, 2, 10_000).describe('Workflow tasks at once per worker process.'),
  // Worker memory grows by roughly 1.5 MB per cached workflow (bench: ~400 MB at 100, 1.6 GB at ~900).
  WORKER_MAX_CACHED_WORKFLOWS: int(100, 0, 1_000_000).describe('Sticky cache size: leads kept in worker memory (about 1.5 MB each).'),
  CONTINUE_AS_NEW_AFTER_EVENTS: int(2000, 100, 40_000).describe('History length (events) at which a lead workflow continues as new.'),
  // Temporal SDK metrics (Prometheus) on <WORKER_METRICS_HOST>:<port>/metrics; 0 = off. One port per worker process.
  WORKER_METRICS_PORT: int(0, 0, 65535).describe('Port of a worker\'s Prometheus endpoint (/metrics); 0 = off; npm start gives worker n this port + n - 1.'),
  // Loopback by default; 0.0.0.0 in a container, so a scraper on the container network reaches it.
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1').describe('Bind address of the workers\' metrics endpoint.'),

  // CRM: `rest` is the project's own simulator dialect (CRM_BASE_URL); `hubspot` and
  // `salesforce` are the vendors' APIs (docs/crm.md), batched in the worker.
  CRM_ADAPTER: z.enum(['rest', 'hubspot', 'salesforce']).default('rest').describe('CRM dialect the worker writes: rest (the local simulator\'s), hubspot or salesforce (docs/crm.md).'),
  // Vendor batches: wait at most this long for one to fill; at most this many out at once per worker process.
  CRM_BATCH_WAIT_MS: int(1000, 0, 60_000).describe('Longest a vendor write waits for its batch to fill, in ms.'),
  // Records per vendor request; 0 = the vendor's most (HubSpot 100, Salesforce 200), 1 = no batching.
  CRM_BATCH_MAX_RECORDS: int(0, 0, 200).describe('Records per vendor request; 0 = the vendor\'s most (HubSpot 100, Salesforce 200), 1 = no batching.'),
  CRM_BATCH_MAX_IN_FLIGHT: int(4, 1, 100).describe('Vendor batches out at once per worker process.'),
  HUBSPOT_ACCESS_TOKEN: optionalString.describe('The HubSpot private app\'s token; required with CRM_ADAPTER=hubspot and no simulator.'),
  HUBSPOT_BASE_URL: httpUrl.default('https://api.hubapi.com').describe('HubSpot\'s API base URL; https in production.'),
  // The private app's limit per rolling 10 s: 100 on Free/Starter, 190 on Professional/Enterprise.
  HUBSPOT_REQUESTS_PER_10S: int(100, 1, 10_000).describe('The private app\'s request limit per rolling 10 s, all workers together (190 on Professional/Enterprise).'),
  // Extra lead fields to send, as JSON {"<custom field>": "<HubSpot property>"}.
  HUBSPOT_PROPERTY_MAP: optionalString.describe('Extra lead fields to send, JSON {"<custom field>": "<HubSpot property>"}.'),
  SALESFORCE_INSTANCE_URL: optionalString.describe('The org\'s My Domain URL; required with CRM_ADAPTER=salesforce and no simulator; https in production.'),
  SALESFORCE_CLIENT_ID: optionalString.describe('The connected app\'s consumer key; required with CRM_ADAPTER=salesforce and no simulator.'),
  SALESFORCE_CLIENT_SECRET: optionalString.describe('The connected app\'s consumer secret; required with CRM_ADAPTER=salesforce and no simulator.'),
  SALESFORCE_API_VERSION: z.string().regex(/^\d+\.\d$/, 'must look like 62.0').default('62.0').describe('Salesforce REST API version.'),
  SALESFORCE_OBJECT: z.string().min(1).default('Lead').describe('The sObject leads are written to.'),
  SALESFORCE_EXTERNAL_ID_FIELD: z.string().min(1).default('AO_Lead_Id__c').describe('The external-id field holding the lead id.'),
  // Extra lead fields to send, as JSON {"<custom field>": "<Salesforce field>"}.
  SALESFORCE_FIELD_MAP: optionalString.describe('Extra lead fields to send, JSON {"<custom field>": "<Salesforce field>"}.'),
  // Changes made in the CRM (docs/crm.md): the HubSpot app's client secret (the key of its
  // webhooks' v3 signature) and the webhook URL exactly as the app names it (behind a proxy,
  // not the URL the API sees; unset = the URL the request arrived at).
  HUBSPOT_CLIENT_SECRET: optionalString.describe('The HubSpot app\'s client secret: the key of its webhooks\' signatures (POST /webhooks/hubspot).'),
  HUBSPOT_WEBHOOK_URL: optionalString.describe('The webhook URL exactly as the HubSpot app names it (behind a proxy); unset = the URL the request arrived at.'),
  // Keys of the signed change notices of POST /webhooks/crm (a Salesforce Flow's callout); comma-separated, newest first.
  CRM_WEBHOOK_SECRETS: optionalString.describe('Keys of the signed change notices of POST /webhooks/crm (a Salesforce Flow), comma-separated, newest first.'),
  CRM_BASE_URL: z.url().default('http://127.0.0.1:4010').describe('CRM endpoint of the rest adapter; npm start runs the chosen CRM\'s simulator on its port.'),
  CRM_API_KEY: optionalString.describe('Bearer key sent to the CRM (rest adapter).'),
  CRM_TIMEOUT_MS: int(10_000, 100, 300_000).describe('Timeout of one CRM request, in ms.'),
  // CRM writes per sliding second for all worker processes together (0 = no limit); each
  // process sends at most its share, CRM_RATE_LIMIT_PER_SECOND / WORKER_PROCESSES.
  CRM_RATE_LIMIT_PER_SECOND: int(50, 0, 100_000).describe('CRM writes per sliding second, all worker processes together (each sends this / WORKER_PROCESSES); 0 = no limit.'),
  // Added to the one-second window, so a request delayed on its way cannot crowd a CRM second.
  CRM_RATE_LIMIT_MARGIN_MS: int(100, 0, 10_000).describe('Widens each worker\'s one-second window by this many ms, so a request delayed on its way cannot crowd a CRM second.'),
  CRM_START_SIMULATOR: bool(true).describe('npm start runs the chosen CRM\'s simulator on CRM_BASE_URL\'s port; false for a real CRM. Production refuses true with a vendor adapter.'),

  // Email
  SMTP_HOST: z.string().min(1).default('127.0.0.1').describe('Mail relay host.'),
  SMTP_PORT: int(2525, 1, 65535).describe('Mail relay port.'),
  SMTP_SECURE: bool(false).describe('Implicit TLS to the relay (port 465).'),
  // STARTTLS required on a plain connection (nodemailer's requireTLS): no mail in the clear.
  SMTP_REQUIRE_TLS: bool(false).describe('Require STARTTLS on a plain connection: no mail in the clear.'),
  SMTP_USER: optionalString.describe('SMTP auth user.'),
  SMTP_PASSWORD: optionalString.describe('SMTP auth password.'),
  // Blank counts as unset (docker-compose.yml passes `${DEPLOY_...:-}`); production refuses the example defaults.
  SMTP_FROM: optionalString.pipe(z.string().min(3).default('Sales Team <sales@example.com>')).describe('Sender of every email; blank counts as unset.'),
  SMTP_START_SINK: bool(true).describe('npm start runs the local SMTP sink on SMTP_PORT; false for a real relay.'),
  SMTP_SINK_HTTP_PORT: int(8025, 0, 65535).describe('HTTP inspection port of the local SMTP sink (/messages).'),
  MESSAGE_ID_DOMAIN: optionalString.pipe(z.string().min(1).default('leads.example.com')).describe('Right-hand side of generated Message-IDs; blank counts as unset.'),

  // Retries (per activity attempt counts and backoff)
  RETRY_MAX_ATTEMPTS: int(8, 1, 1000).describe('Attempts per activity before the task fails; fixed into a lead at its start.'),
  RETRY_INITIAL_INTERVAL_MS: int(1000, 10, 3_600_000).describe('First retry delay in ms (doubles each time).'),
  RETRY_MAX_INTERVAL_MS: int(30_000, 10, 3_600_000).describe('Longest retry delay, in ms.'),
  // The first repair wait of a transient failure; doubled per failed repair up to 60x (workflows/lead-repair.ts).
  CRM_RESYNC_INTERVAL_MS: int(60_000, 100, 86_400_000).describe('A lead\'s first repair wait after a transient CRM or email failure, in ms; doubled per failed repair up to 60 times it.'),

  // Automations (automations/*.yaml, run by the automationRun workflow)
  AUTOMATIONS_DIR: z.string().min(1).default('automations').describe('Folder of automation definitions and their email templates (automations/README.md).'),
  AUTOMATION_TIME_SCALE: z.coerce.number().min(0.00001).max(1).default(1).describe('Multiplies every wait of newly started automation runs; 0.001 runs `wait: 2d` in about 3 minutes.'),
  WEBHOOK_BASE_URL: optionalString.pipe(z.url().optional()).describe('Base of relative automation webhook URLs; unset = CRM_BASE_URL.'),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 55_000).describe('Timeout of one automation webhook request, in ms.'),
  // Webhook hosts (`host` or `host:port`, comma-separated) reachable whatever they resolve to:
  // in-cluster targets. Every other host must resolve to public addresses (webhookAllowedHostsOf).
  WEBHOOK_ALLOWED_HOSTS: optionalString.describe('Webhook hosts (`host` or `host:port`, comma-separated) reachable although they resolve to internal addresses; outside production also the host of WEBHOOK_BASE_URL.'),
  // Blank counts as unset (docker-compose.yml passes `${DEPLOY_...:-}`).
  UNSUBSCRIBE_BASE_URL: optionalString.pipe(z.url().default('http://127.0.0.1:3000/unsubscribe')).describe('Unsubscribe link (and List-Unsubscribe header) in every email; blank counts as unset.'),
  UNSUBSCRIBE_SECRET: optionalString.describe('HMAC key of unsubscribe links, 16+ characters; unset = a development key.'),

  // Personal data (src/identity): email keys are HMACs under EMAIL_HASH_SECRETS (comma-separated,
  // newest first; records are found under any, written under the first). EMAIL_EVENTS_SECRET
  // signs the bounce and complaint events of POST /webhooks/email-events (unset = intake off,
  // docs/email-events.md).
  EMAIL_HASH_SECRETS: optionalString.describe('HMAC keys of email addresses (claims, suppressions), comma-separated, newest first; unset = a development key (docs/personal-data.md).'),
  EMAIL_EVENTS_SECRET: optionalString.describe('Signing key of bounce and complaint events at POST /webhooks/email-events; unset = intake off (docs/email-events.md).'),

  // Tracing (OpenTelemetry over OTLP/HTTP, src/tracing): on when an OTLP endpoint is set or
  // TRACING_ENABLED=true; TRACING_ENABLED=false turns it off whatever else is set.
  TRACING_ENABLED: optionalBool.describe('true: trace even without an endpoint (to http://localhost:4318); false: never trace; unset = on when an OTLP endpoint is set.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(httpUrl.optional()).describe('OTLP/HTTP collector base URL; spans go to <url>/v1/traces.'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString.pipe(httpUrl.optional()).describe('The OTLP traces URL as-is, instead of OTEL_EXPORTER_OTLP_ENDPOINT.'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  const lines = result.success ? [] : result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  if (result.success) {
    const c = withCrmSimulator(result.data);
    // A read first asks the workflow (QUERY_TIMEOUT_MS), then falls back to history within
    // what is left of READ_TIMEOUT_MS; with no time left the fallback could never answer.
    if (c.READ_TIMEOUT_MS <= c.QUERY_TIMEOUT_MS) {
      lines.push(`  READ_TIMEOUT_MS: must be greater than QUERY_TIMEOUT_MS (${c.QUERY_TIMEOUT_MS})`);
    }
    // The handler timeout is the backstop behind the Temporal deadlines, not a shorter limit.
    const longest = Math.max(c.READ_TIMEOUT_MS, c.WRITE_TIMEOUT_MS);
    if (c.HANDLER_TIMEOUT_MS <= longest) {
      lines.push(`  HANDLER_TIMEOUT_MS: must be greater than READ_TIMEOUT_MS and WRITE_TIMEOUT_MS (${longest})`);
    }
    // An idle socket is closed after CONNECTION_TIMEOUT_MS: a live task stream's heartbeat must come sooner.
    if (c.CONNECTION_TIMEOUT_MS > 0 && c.SSE_HEARTBEAT_MS >= c.CONNECTION_TIMEOUT_MS) {
      lines.push(`  SSE_HEARTBEAT_MS: must be less than CONNECTION_TIMEOUT_MS (${c.CONNECTION_TIMEOUT_MS}), or idle streams are cut`);
    }
    if (c.CRM_RATE_LIMIT_PER_SECOND > 0 && c.CRM_RATE_LIMIT_PER_SECOND < c.WORKER_PROCESSES) {
      lines.push(
        `  CRM_RATE_LIMIT_PER_SECOND: ${c.CRM_RATE_LIMIT_PER_SECOND} cannot be shared by WORKER_PROCESSES=${c.WORKER_PROCESSES} (each process needs at least 1/s)`,
      );
    }
    for (const problem of crmAdapterProblems(c)) lines.push(`  ${problem}`);
    const keys = parseApiKeys(c.API_KEYS);
    if (keys instanceof Error) lines.push(`  API_KEYS: ${keys.message}`);
    for (const problem of temporalTlsProblems(c)) lines.push(`  ${problem}`);
    const codec = parseCodecKeys(c.TEMPORAL_CODEC_KEYS);
    if (codec instanceof Error) lines.push(`  TEMPORAL_CODEC_KEYS: ${codec.message}`);
    for (const name of ['TRUST_PROXY', 'TRACE_PARENT_FROM'] as const) {
      const raw = c[name];
      if (raw === undefined || (name === 'TRUST_PROXY' && /^(true|false)$/.test(raw))) continue;
      // Fastify 5 trusts no peer for a hop count (it cannot tell a proxy from a client that
      // sends enough hops), so a count would silently do nothing.
      if (name === 'TRUST_PROXY' && /^\d+$/.test(raw)) {
        lines.push('  TRUST_PROXY: a hop count trusts no proxy in Fastify 5; list the proxies\' addresses or CIDRs instead');
        continue;
      }
      const parsed = parseAddressList(raw);
      if (parsed instanceof Error) lines.push(`  ${name}: ${parsed.message}`);
    }
    for (const refusal of productionRefusals(c)) lines.push(`  ${refusal}`);
    if (lines.length === 0) return c;
  }
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** Credentials of the local vendor simulators: published here, so production refuses them. */
export const CRM_SIMULATOR_CREDENTIALS = {
  hubspotToken: 'pat-local-simulator',
  hubspotClientSecret: 'hubspot-simulator-client-secret',
  salesforceClientId: 'sim-client-id',
  salesforceClientSecret: 'sim-client-secret',
  webhookSecret: 'crm-simulator-webhook-secret',
} as const;

/**
 * With CRM_START_SIMULATOR (the default), `npm start` runs the chosen CRM's simulator on
 * CRM_BASE_URL: a vendor adapter is pointed there, with the simulator's credentials where none
 * are given, in every process that reads this configuration alike.
 */
function withCrmSimulator(c: Config): Config {
  if (!c.CRM_START_SIMULATOR || c.CRM_ADAPTER === 'rest') return c;
  const sim = CRM_SIMULATOR_CREDENTIALS;
  if (c.CRM_ADAPTER === 'hubspot') {
    return {
      ...c,
      HUBSPOT_BASE_URL: c.CRM_BASE_URL,
      HUBSPOT_ACCESS_TOKEN: c.HUBSPOT_ACCESS_TOKEN ?? sim.hubspotToken,
      HUBSPOT_CLIENT_SECRET: c.HUBSPOT_CLIENT_SECRET ?? sim.hubspotClientSecret,
    };
  }
  return {
    ...c,
    SALESFORCE_INSTANCE_URL: c.CRM_BASE_URL,
    SALESFORCE_CLIENT_ID: c.SALESFORCE_CLIENT_ID ?? sim.salesforceClientId,
    SALESFORCE_CLIENT_SECRET: c.SALESFORCE_CLIENT_SECRET ?? sim.salesforceClientSecret,
    CRM_WEBHOOK_SECRETS: c.CRM_WEBHOOK_SECRETS ?? sim.webhookSecret,
  };
}

/** What the chosen CRM adapter needs and is not given. */
function crmAdapterProblems(c: Config): string[] {
  const missing = (names: Array<keyof Config>) =>
    names.filter((n) => c[n] === undefined).map((n) => `${n}: required with CRM_ADAPTER=${c.CRM_ADAPTER} and CRM_START_SIMULATOR=false`);
  const problems =
    c.CRM_ADAPTER === 'hubspot'
      ? missing(['HUBSPOT_ACCESS_TOKEN'])
      : c.CRM_ADAPTER === 'salesforce'
        ? missing(['SALESFORCE_INSTANCE_URL', 'SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'])
        : [];
  for (const name of ['HUBSPOT_PROPERTY_MAP', 'SALESFORCE_FIELD_MAP'] as const) {
    if (c[name] !== undefined && fieldMapOf(c[name]) instanceof Error) problems.push(`${name}: ${(fieldMapOf(c[name]) as Error).message}`);
  }
  return problems;
}

/** A JSON object of lead field → CRM field names, as HUBSPOT_PROPERTY_MAP / SALESFORCE_FIELD_MAP hold it. */
export function fieldMapOf(raw: string | undefined): Record<string, string> | Error {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return new Error('must be a JSON object like {"industry": "industry__c"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string' || v === '')) {
    return new Error('must be a JSON object of non-empty strings, like {"industry": "industry__c"}');
  }
  return parsed as Record<string, string>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

/** True for addresses that only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (LOOPBACK_HOSTS.has(h)) return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127(\.\d{1,3}){3}$/.test(v4);
}

/**
 * Webhook hosts exempt from the public-address check: WEBHOOK_ALLOWED_HOSTS, and outside
 * production the host that relative webhook URLs resolve against (the local CRM simulator
 * on 127.0.0.1 for `npm start` and the tests). Production allows only what is listed.
 */
export function webhookAllowedHostsOf(config: Pick<Config, 'WEBHOOK_ALLOWED_HOSTS' | 'WEBHOOK_BASE_URL' | 'CRM_BASE_URL' | 'NODE_ENV'>): string[] {
  const listed = parseAllowedHosts(config.WEBHOOK_ALLOWED_HOSTS);
  return isProduction(config) ? listed : [...listed, allowListEntryOf(config.WEBHOOK_BASE_URL ?? config.CRM_BASE_URL)];
}

/**
 * The configured API keys (api-keys.ts), parsed once for every listener; none when API_KEYS
 * is unset or blank. loadConfig has refused a bad value; a configuration built by hand that
 * holds one throws here rather than leaving the API open.
 */
export function apiKeysOf(config: Partial<Pick<Config, 'API_KEYS'>>): ApiKey[] {
  const keys = parseApiKeys(config.API_KEYS);
  if (keys instanceof Error) throw new Error(`API_KEYS: ${keys.message}`);
  return keys;
}

/** Keys written in the clear in API_KEYS (development): the log scrubber removes them from every line. */
export function plaintextApiKeysOf(config: Partial<Pick<Config, 'API_KEYS'>>): string[] {
  return plaintextKeysIn(config.API_KEYS);
}

const HASHED_FORM = '<id>:<scope>+<scope>:sha256:<hex> (`ao keys new --id NAME --scopes read,write` prints a key and its entry)';

/**
 * Why the API must not start with this configuration, or undefined. Without API_KEYS the
 * API is open, which is the zero-setup default on loopback; anywhere else anyone who can
 * reach the port could read and write leads, so that takes an explicit ALLOW_OPEN_API=true.
 * Keys written in the clear are for development on loopback too: elsewhere the configuration
 * holds digests only. In production loopback does not excuse either: a proxy on the same
 * machine forwards the world (productionRefusals refuses plaintext keys for every process).
 * (Here rather than in productionRefusals: the workers read the same configuration and serve no API.)
 */
export function openApiRefusal(config: Pick<Config, 'API_KEYS' | 'HOST' | 'OPS_HOST' | 'ALLOW_OPEN_API' | 'NODE_ENV'>): string | undefined {
  const keys = apiKeysOf(config);
  const plaintext = keys.filter((k) => k.plaintext).length;
  // The ops listener serves /api routes too (the status page's), so its address counts alike.
  const exposed = (['HOST', 'OPS_HOST'] as const).find((name) => !isLoopbackHost(config[name]));
  if (plaintext > 0 && !isProduction(config) && exposed !== undefined) {
    return (
      `API_KEYS: ${plaintext} key(s) written in the clear, on ${exposed}=${config[exposed]}, which is not a loopback address.\n` +
      `  Outside loopback development, configure each key by its digest: ${HASHED_FORM}.`
    );
  }
  if (keys.length > 0 || config.ALLOW_OPEN_API) return undefined;
  if (isProduction(config)) {
    return (
      `API_KEYS: required in production (NODE_ENV=production); set API_KEYS to entries ${HASHED_FORM},\n` +
      '  or ALLOW_OPEN_API=true if something in front of the API (a proxy, a private network) already guards it.'
    );
  }
  if (exposed === undefined) return undefined;
  return (
    `api: refusing to start without authentication on ${exposed}=${config[exposed]}, which is not a loopback address.\n` +
    `  Set API_KEYS (entries ${HASHED_FORM}) to require a key on /api/*,\n` +
    `  or ${exposed}=127.0.0.1 to serve this machine only,\n` +
    '  or ALLOW_OPEN_API=true if something in front of the API (a proxy, a private network) already guards it.'
  );
}

/** Requests per minute and key (or client address) when RATE_LIMIT_PER_MINUTE is unset and the API listens beyond loopback. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6000;

/**
 * The API's rate limit: RATE_LIMIT_PER_MINUTE when set (0 = off); unset, on at
 * DEFAULT_RATE_LIMIT_PER_MINUTE wherever others can reach the port, off on loopback (`npm
 * start`, the tests and the benchmarks drive the API from this machine).
 */
export function rateLimitPerMinuteOf(config: Pick<Config, 'RATE_LIMIT_PER_MINUTE' | 'HOST'>): number {
  if (config.RATE_LIMIT_PER_MINUTE !== undefined) return config.RATE_LIMIT_PER_MINUTE;
  return isLoopbackHost(config.HOST) ? 0 : DEFAULT_RATE_LIMIT_PER_MINUTE;
}

/** True when NODE_ENV=production: the containers of docker-compose.yml and the Dockerfile. */
export function isProduction(config: Pick<Config, 'NODE_ENV'>): boolean {
  return config.NODE_ENV === 'production';
}

/**
 * Why a production process must not start with this configuration: a secret that is missing
 * or is the development default published in this repository, links that point at loopback,
 * payloads that would reach Temporal unencrypted. Empty outside production, so `npm start`
 * and the tests run with no setup.
 */
export function productionRefusals(
  config: Pick<Config, 'NODE_ENV' | 'UNSUBSCRIBE_SECRET' | 'UNSUBSCRIBE_BASE_URL' | 'TEMPORAL_CODEC_KEYS'> &
    Partial<Pick<Config, 'EMAIL_HASH_SECRETS' | 'EMAIL_EVENTS_SECRET' | 'CRM_ADAPTER' | 'CRM_START_SIMULATOR' | 'HUBSPOT_BASE_URL' | 'SALESFORCE_INSTANCE_URL'>> &
    Partial<PlaintextFields & Pick<Config, 'SMTP_FROM' | 'MESSAGE_ID_DOMAIN' | 'API_KEYS'>>,
): string[] {
  if (!isProduction(config)) return [];
  const out: string[] = [];
  const plaintextKeys = apiKeysOf(config).filter((k) => k.plaintext).length;
  if (plaintextKeys > 0) out.push(`API_KEYS: ${plaintextKeys} key(s) written in the clear; production takes digests only: ${HASHED_FORM}`);
  const hashSecrets = emailHashSecretsOf(config.EMAIL_HASH_SECRETS);
  if (hashSecrets.includes(DEV_EMAIL_HASH_SECRET)) out.push('EMAIL_HASH_SECRETS: required in production (NODE_ENV=production); use a long random value');
  else if (hashSecrets.some((s) => s.length < 16)) out.push('EMAIL_HASH_SECRETS: a secret shorter than 16 characters; use long random values');
  const secret = config.UNSUBSCRIBE_SECRET;
  if (secret === undefined) out.push('UNSUBSCRIBE_SECRET: required in production (NODE_ENV=production); use a long random value');
  else if (secret === DEV_UNSUBSCRIBE_SECRET) out.push('UNSUBSCRIBE_SECRET: is the development default published in the repository; use a long random value');
  else if (secret.length < 16) out.push('UNSUBSCRIBE_SECRET: shorter than 16 characters; use a long random value');
  const unsubscribeBase = new URL(config.UNSUBSCRIBE_BASE_URL);
  if (isLoopbackHost(unsubscribeBase.hostname)) {
    out.push(`UNSUBSCRIBE_BASE_URL: ${config.UNSUBSCRIBE_BASE_URL} is a loopback address; emails need a link recipients can open`);
  }
  // Mail clients offer RFC 8058 one-click unsubscribe only for an https List-Unsubscribe link.
  if (unsubscribeBase.protocol !== 'https:') out.push(`UNSUBSCRIBE_BASE_URL: ${config.UNSUBSCRIBE_BASE_URL} is not https; one-click unsubscribe needs an https link`);
  // Unset is fine (the intake is off); the key `npm start` shares with the SMTP sink is not.
  const eventsSecret = config.EMAIL_EVENTS_SECRET;
  if (eventsSecret === DEV_EMAIL_EVENTS_SECRET) out.push('EMAIL_EVENTS_SECRET: is the development default published in the repository; use the provider\'s signing key');
  else if (eventsSecret !== undefined && eventsSecret.length < 16) out.push('EMAIL_EVENTS_SECRET: shorter than 16 characters; use the provider\'s signing key');
  if (config.CRM_ADAPTER !== undefined && config.CRM_ADAPTER !== 'rest') {
    // The simulator's published credentials, or leads sent to the vendor in the clear.
    if (config.CRM_START_SIMULATOR) out.push(`CRM_START_SIMULATOR: must be false in production with CRM_ADAPTER=${config.CRM_ADAPTER} (it writes to the local simulator)`);
    const vendorUrl = config.CRM_ADAPTER === 'hubspot' ? config.HUBSPOT_BASE_URL : config.SALESFORCE_INSTANCE_URL;
    if (vendorUrl !== undefined && !vendorUrl.startsWith('https://')) out.push(`${config.CRM_ADAPTER === 'hubspot' ? 'HUBSPOT_BASE_URL' : 'SALESFORCE_INSTANCE_URL'}: ${vendorUrl} is not https`);
  }
  if (config.TEMPORAL_CODEC_KEYS === undefined) {
    out.push('TEMPORAL_CODEC_KEYS: required in production, so lead data is encrypted in Temporal (see docs/personal-data.md)');
  }
  out.push(...plaintextRefusals(config), ...exampleDomainRefusals(config));
  return out;
}

type PlaintextFields = TlsFields &
  Pick<
    Config,
    'PLAINTEXT_ALLOWED_HOSTS' | 'TEMPORAL_ADDRESS' | 'CRM_ADAPTER' | 'CRM_START_SIMULATOR' | 'CRM_BASE_URL' | 'SMTP_HOST' | 'SMTP_SECURE' | 'SMTP_REQUIRE_TLS' | 'SMTP_START_SINK'
  >;

/**
 * Links that would carry leads, mail or credentials in the clear across a network: each is
 * refused unless its host is loopback or listed in PLAINTEXT_ALLOWED_HOSTS. The local
 * simulators (CRM_START_SIMULATOR, SMTP_START_SINK) are this machine's own.
 */
function plaintextRefusals(config: Partial<PlaintextFields>): string[] {
  const allowed = new Set(parseAllowedHosts(config.PLAINTEXT_ALLOWED_HOSTS).map((h) => h.toLowerCase()));
  const remote = (host: string) => !isLoopbackHost(host) && !allowed.has(host.toLowerCase());
  const out: string[] = [];
  const hint = 'or list the host in PLAINTEXT_ALLOWED_HOSTS if it is on a private network';
  if (config.TEMPORAL_ADDRESS !== undefined && remote(hostOfAddress(config.TEMPORAL_ADDRESS)) && !temporalTlsEnabled(config as TlsFields)) {
    out.push(`TEMPORAL_ADDRESS: ${config.TEMPORAL_ADDRESS} is reached without TLS; set TEMPORAL_TLS=true, TEMPORAL_TLS_* or TEMPORAL_API_KEY, ${hint}`);
  }
  if ((config.CRM_ADAPTER ?? 'rest') === 'rest' && config.CRM_START_SIMULATOR === false && config.CRM_BASE_URL !== undefined) {
    const url = new URL(config.CRM_BASE_URL);
    if (url.protocol === 'http:' && remote(url.hostname)) out.push(`CRM_BASE_URL: ${config.CRM_BASE_URL} is not https; use the CRM's https URL, ${hint}`);
  }
  if (config.SMTP_START_SINK === false && config.SMTP_HOST !== undefined && !config.SMTP_SECURE && !config.SMTP_REQUIRE_TLS && remote(config.SMTP_HOST)) {
    out.push(`SMTP_SECURE, SMTP_REQUIRE_TLS: mail to ${config.SMTP_HOST} may go in the clear; set SMTP_SECURE=true (port 465) or SMTP_REQUIRE_TLS=true (STARTTLS), ${hint}`);
  }
  return out;
}

/** The host of `host:port`, `[v6]:port` or a bare host. */
function hostOfAddress(address: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(address);
  if (bracketed) return bracketed[1] ?? address;
  const colons = address.split(':').length - 1;
  return colons === 1 ? (address.split(':')[0] ?? address) : address;
}

// RFC 2606's documentation domains: mail "from" them bounces or lands in spam, and Message-IDs
// under them are not ours.
const EXAMPLE_DOMAIN = /(^|[.@])example\.(com|org|net)(>|\s|$)/i;

function exampleDomainRefusals(config: Partial<Pick<Config, 'SMTP_FROM' | 'MESSAGE_ID_DOMAIN'>>): string[] {
  const out: string[] = [];
  if (config.SMTP_FROM !== undefined && EXAMPLE_DOMAIN.test(config.SMTP_FROM.trim())) {
    out.push(`SMTP_FROM: ${config.SMTP_FROM} is an example address; set the sender your mail domain authorises`);
  }
  if (config.MESSAGE_ID_DOMAIN !== undefined && EXAMPLE_DOMAIN.test(config.MESSAGE_ID_DOMAIN.trim())) {
    out.push(`MESSAGE_ID_DOMAIN: ${config.MESSAGE_ID_DOMAIN} is an example domain; set your own mail domain`);
  }
  return out;
}

/** Fastify's trustProxy from TRUST_PROXY: false (unset), true, or the proxies' addresses. */
export function trustProxyOf(config: Pick<Config, 'TRUST_PROXY'>): boolean | string[] {
  const raw = config.TRUST_PROXY?.trim();
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  const list = parseAddressList(raw);
  return list instanceof Error ? false : list;
}

/** Where an incoming `traceparent` is believed: TRACE_PARENT_FROM, or this machine only. */
export function traceParentSourcesOf(config: Pick<Config, 'TRACE_PARENT_FROM'>): string[] {
  const list = config.TRACE_PARENT_FROM === undefined ? undefined : parseAddressList(config.TRACE_PARENT_FROM);
  return list === undefined || list instanceof Error ? ['127.0.0.0/8', '::1'] : list;
}

type TlsFields = Pick<Config, 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME' | 'TEMPORAL_API_KEY'>;

function temporalTlsProblems(config: TlsFields): string[] {
  const out: string[] = [];
  if ((config.TEMPORAL_TLS_CERT === undefined) !== (config.TEMPORAL_TLS_KEY === undefined)) {
    out.push('TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: mTLS needs both the client certificate and its key');
  }
  const off = config.TEMPORAL_TLS !== undefined && !truthy(config.TEMPORAL_TLS);
  if (off && (config.TEMPORAL_TLS_CERT ?? config.TEMPORAL_TLS_CA ?? config.TEMPORAL_TLS_SERVER_NAME) !== undefined) {
    out.push('TEMPORAL_TLS: is false, but TLS files or a server name are set');
  }
  for (const name of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA'] as const) {
    const path = config[name];
    if (path !== undefined && !existsSync(path)) out.push(`${name}: no such file: ${path}`);
  }
  return out;
}

const truthy = (v: string) => v === 'true' || v === '1' || v === 'yes';

/** Whether the connections to Temporal use TLS (see TEMPORAL_TLS). */
export function temporalTlsEnabled(config: TlsFields): boolean {
  if (config.TEMPORAL_TLS !== undefined) return truthy(config.TEMPORAL_TLS);
  return [config.TEMPORAL_TLS_CERT, config.TEMPORAL_TLS_CA, config.TEMPORAL_TLS_SERVER_NAME, config.TEMPORAL_API_KEY].some((v) => v !== undefined);
}

/** Browser origins allowed to call /codec/*: the configured ones, or the dev server's Web UI. */
export function codecCorsOriginsOf(config: Pick<Config, 'TEMPORAL_CODEC_CORS_ORIGINS' | 'TEMPORAL_UI_PORT'>): string[] {
  const configured = config.TEMPORAL_CODEC_CORS_ORIGINS;
  if (configured !== undefined) return configured.split(',').map((o) => o.trim()).filter(Boolean);
  return [`http://localhost:${config.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`];
}
