import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivitiesByTaskQueue, type ActivityDeps } from '../src/activities/index.js';
import type { AutomationDeps } from '../src/activities/automation.js';
import { crmFromConfig } from '../src/activities/crm/from-config.js';
import { createLeadGateway } from '../src/activities/lead-gateway.js';
import { createSmtpMailer } from '../src/activities/mailer.js';
import { loadAutomations } from '../src/automations/loader.js';
import { webhookEnvNames } from '../src/automations/webhook-secrets.js';
import { DEV_UNSUBSCRIBE_SECRET } from '../src/automations/unsubscribe.js';
import { webhookAllowedHostsOf, type Config } from '../src/config.js';
import { addressBookFromConfig } from '../src/identity/address-book.js';
import { migrateEmailClaims } from '../src/identity/migrate-claims.js';
import { dataConverterFromConfig } from '../src/temporal/payload-codec.js';
import { droppedWorkflowSpans, type Tracing } from '../src/tracing/tracing.js';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES, workflowSource } from '../src/temporal/workflow-modules.js';

// Workflow code: the prebuilt bundle when `npm run build` made one (fast start-up, the
// same code every worker runs), otherwise the TypeScript sources, bundled at start.
const PREBUILT_BUNDLE = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

export function workflowCodeOptions(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  if (existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  return { workflowsPath: workflowSource('index'), bundlerOptions: { preloadModules: WORKFLOW_PRELOAD_MODULES } };
}

export function activityDepsFromConfig(config: Config, tracing?: Tracing): ActivityDeps {
  return {
    // A client span per CRM request, child of the activity's span.
    crm: crmFromConfig(config, tracing ? { fetch: tracing.fetch } : {}),
    mailer: createSmtpMailer({
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      secure: config.SMTP_SECURE,
      requireTls: config.SMTP_REQUIRE_TLS,
      user: config.SMTP_USER,
      password: config.SMTP_PASSWORD,
      from: config.SMTP_FROM,
    }),
    messageIdDomain: config.MESSAGE_ID_DOMAIN,
  };
}

/**
 * Loads and validates the automation folder (an invalid file throws AutomationLoadError,
 * which stops the worker's start-up) and builds what the automation activities need.
 */
export function automationDepsFromConfig(config: Config, connection: NativeConnection, tracing?: Tracing): AutomationDeps {
  const catalog = loadAutomations(config.AUTOMATIONS_DIR);
  if (catalog.note) console.warn(`worker: ${catalog.note}`);
  for (const [name, ids] of webhookEnvNames(catalog.list())) {
    if (!process.env[name]) console.warn(`worker: ${name} is not set; the webhooks of ${ids.join(', ')} that need it will fail`);
  }
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFromConfig(config),
    ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors() } } : {}),
  });
  return {
    catalog,
    leads: createLeadGateway(client),
    timeScale: config.AUTOMATION_TIME_SCALE,
    webhookBaseUrl: config.WEBHOOK_BASE_URL ?? config.CRM_BASE_URL,
    webhookTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
    webhookAllowedHosts: webhookAllowedHostsOf(config),
    unsubscribeBaseUrl: config.UNSUBSCRIBE_BASE_URL,
    unsubscribeSecret: config.UNSUBSCRIBE_SECRET ?? DEV_UNSUBSCRIBE_SECRET,
  };
}

/** A client for activities that call Temporal itself (address records, erasures). */
function temporalClient(config: Config, connection: NativeConnection): Client {
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFromConfig(config) });
}

/** Runs the email-claim migration (src/identity/migrate-claims.ts) and says what it did; never throws. */
export async function migrateLegacyClaims(config: Config, connection: NativeConnection): Promise<void> {
  try {
    const client = temporalClient(config, connection);
    const result = await migrateEmailClaims(client, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      addresses: addressBookFromConfig(config, client),
    }, { onProgress: (n) => console.log(`worker: email claims of existing leads: ${n} leads so far …`) });
    if (result === 'done before') return;
    console.log(`worker: email claims of existing leads: ${result.leads} leads, ${result.claimed} claimed, ${result.held} held already, ${result.conflicts.length} conflicts`);
    for (const c of result.conflicts.slice(0, 20)) console.warn(`worker: lead ${c.leadId} has the email lead ${c.holder} holds: merge or erase one of them`);
  } catch (err) {
    console.warn(`worker: email-claim migration did not finish (${(err as Error).message}); it runs again at the next start`);
  }
}

/**
 * Two workers share one connection: the main task queue runs the workflows and every
 * activity but the CRM writes, which run on the CRM queue (createActivitiesByTaskQueue
 * groups them, so a new activity needs no list here). The CRM's rate
 * limit is held by each process's send limiter (activityDepsFromConfig); the task-queue
 * limit at the server (`maxTaskQueueActivitiesPerSecond`, a token bucket that bursts) only
 * keeps the server from handing a worker far more CRM writes than it may send, which would
 * otherwise wait out their timeouts in the limiter.
 *
 * With `tracing`, activities get spans and the workflow interceptors' spans are exported;
 * without, those spans are dropped (the interceptor module is in every bundle, see
 * src/temporal/workflow-modules.ts).
 */
export async function createWorkers(
  config: Config,
  connection: NativeConnection,
  deps: ActivityDeps,
  overrides: Partial<WorkerOptions> = {},
  tracing?: Tracing,
): Promise<Worker[]> {
  const client = temporalClient(config, connection);
  const addresses = deps.addresses ?? addressBookFromConfig(config, client);
  const activities = createActivitiesByTaskQueue({
    ...deps,
    automations: deps.automations ?? automationDepsFromConfig(config, connection, tracing),
    addresses,
    erasure: deps.erasure ?? { client, namespace: config.TEMPORAL_NAMESPACE, addresses },
  });
  // The same data converter as the API's: payloads are encrypted when TEMPORAL_CODEC_KEYS is set.
  const common = { connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime: '10s', dataConverter: dataConverterFromConfig(config) } as const;
  const activityInterceptors = tracing?.workerInterceptors() ?? {};
  const code = workflowCodeOptions();
  const main = await Worker.create({
    ...common,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...code,
    // A prebuilt bundle already holds the interceptor modules (the worker would ignore them here).
    interceptors: code.workflowsPath ? { ...activityInterceptors, workflowModules: WORKFLOW_INTERCEPTOR_MODULES } : activityInterceptors,
    sinks: tracing ? tracing.workflowSinks() : droppedWorkflowSpans(),
    activities: activities.main,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...overrides,
  });
  const crm = await Worker.create({
    ...common,
    taskQueue: config.TEMPORAL_CRM_TASK_QUEUE,
    interceptors: activityInterceptors,
    activities: activities.crm,
    // Each write mostly waits for the CRM's answer: latency is hidden by having many in flight.
    maxConcurrentActivityTaskExecutions: config.CRM_MAX_CONCURRENT_WRITES,
    // The server's dispatch limit counts activities, one per record: right for the one-record
    // REST dialect; a vendor batch carries up to 200 records per request, held by its gate.
    ...(config.CRM_ADAPTER === 'rest' && config.CRM_RATE_LIMIT_PER_SECOND > 0
      ? { maxTaskQueueActivitiesPerSecond: config.CRM_RATE_LIMIT_PER_SECOND }
      : {}),
    ...overrides,
  });
  return [main, crm];
}

/** Runs the workers until one fails or a shutdown signal arrives; shuts the others down. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}
