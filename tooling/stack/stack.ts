import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProduction, type Config } from '../../src/config.js';
import { DEV_EMAIL_EVENTS_SECRET } from '../../src/email-events/signature.js';
import type { DevServer, DevServerOptions } from '../temporal/dev-server.js';
import { withHeapOptions } from '../../src/node-heap.js';
import { getFreePort } from '../temporal/ports.js';
import { prefixer, startChild, type ChildSpec, type ManagedChild } from './supervisor.js';
import {
  startSupervisedTemporal,
  type SupervisedTemporal,
  type TemporalRestart,
  type TemporalRestartOptions,
} from './temporal-supervisor.js';

export type { TemporalRestart, TemporalRestartOptions } from './temporal-supervisor.js';

// The whole stack on one machine: Temporal dev server (SQLite file), CRM simulator,
// SMTP sink, supervised worker process(es) and the API process(es).

const DIST = fileURLToPath(new URL('../..', import.meta.url)); // dist/ (or the repo root under tsx)
const script = (path: string) => resolve(DIST, path);

export interface RunningStack {
  temporal?: DevServer;
  temporalAddress: string;
  apiUrl: string;
  /** The API's ops listener (OPS_HOST:OPS_PORT): /metrics, /ready, /codec, /console. */
  opsUrl: string;
  /** The status page (GET /console on the API's ops listener). */
  consoleUrl: string;
  uiUrl?: string;
  /** Prometheus endpoints: the API's, each worker's (in order), the dev server's (if started). */
  metricsUrls: { api: string; workers: string[]; temporal?: string };
  crmUrl: string;
  smtpMessagesUrl?: string;
  workers: ManagedChild[];
  api: ManagedChild;
  children: ManagedChild[];
  /**
   * Fault tests: kills the Temporal dev server (SIGKILL unless told otherwise), waits
   * `downtimeMs`, and starts a new one on the same SQLite file and address, so the API
   * and the workers reconnect to it. `temporal` then refers to the new server.
   */
  restartTemporal(options?: TemporalRestartOptions): Promise<TemporalRestart>;
  stop(): Promise<void>;
}

/**
 * SQLite in write-ahead-log mode with every commit still fsynced: faster raw writes than
 * SQLite's defaults (rollback journal) on the machine here, with the same durability
 * (bench/results/*-tune.md: 13.9 vs 5.3 writes/s, measured under uneven load; 16.0 vs 14.8
 * in a later pair of runs). synchronous=NORMAL was faster still but can lose the last
 * commits on an OS crash, so it is not the default.
 *
 * A 64 MB page cache per connection instead of SQLite's 2 MB: the file grows by ~50 KB per
 * lead (1.8 GB after the 10,000-lead chaos run), every engine call reads its pages, and the
 * server's persistence is the engine's bottleneck here. Under the old design's 50 users it
 * answered at p50 136 instead of 171 ms, reads 89 instead of 322 ms, req/s 1.03×
 * (bench/results/2026-12-07-ab-cache-size.md). It changes no durability.
 */
export const DURABLE_WAL: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'full', cache_size: '-65536' };

/**
 * Dev-server settings the stack adds to the CLI's (measured with `npm run bench -- ab`, see
 * bench/README.md, Fast path, first steps). The CLI turns on a forced refresh of the
 * search-attribute cache on every read, for dev servers whose attributes change under them;
 * ours are registered before the first write, so every start, upsert and list would re-read
 * cluster metadata from SQLite for nothing. One partition per task queue: on one process
 * several partitions only split the pollers, so fewer tasks meet a waiting poller and more
 * go through the database.
 *
 * A workflow task retried after its worker died waits at most 10 s more than its timeout
 * instead of up to 10 minutes (tooling/temporal/task-retry-probe.ts explains the server's
 * backoff; it was the 12–17 minute stall of the chaos run, issue #24). The cost: a task
 * that crashes every worker taking it comes back every ~20 s instead of every ~10 min.
 */
export const DEV_SERVER_TUNING: Readonly<Record<string, unknown>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  'history.workflowTaskRetryMaxInterval': '10s',
};

export interface StackOptions {
  /** Called when a child that must not die exits unexpectedly. */
  onFatal?: (message: string) => void;
  /** Extra env for every child (tests use it for short retry intervals). */
  env?: NodeJS.ProcessEnv;
  /** Where the Temporal dev server's own log goes; default: temporal.log next to its database. */
  temporalLogFile?: string;
  /** Default {@link DURABLE_WAL}; pass `{}` for SQLite's own defaults. */
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, unknown>;
}

export async function startStack(config: Config, options: StackOptions = {}): Promise<RunningStack> {
  const children: ManagedChild[] = [];
  let temporal: SupervisedTemporal | undefined;
  const fatal = options.onFatal ?? ((m: string) => console.error(m));
  const say = prefixer('stack');

  const stop = async () => {
    temporal?.markStopping();
    // Reverse order: API first (stop taking writes), then workers, fakes, Temporal last.
    for (const child of children) child.markStopping();
    for (const child of [...children].reverse()) await child.stop();
    await temporal?.stop();
  };
  const start = async (spec: ChildSpec) => {
    const child = await startChild(spec, fatal);
    children.push(child);
    return child;
  };

  try {
    // Fixed before anything starts: the dev server's Web UI is told the codec's address.
    const opsPort = config.OPS_PORT > 0 ? config.OPS_PORT : await getFreePort(config.OPS_HOST);
    if (config.TEMPORAL_START_DEV_SERVER) temporal = await startTemporal(config, opsPort, options, { say, fatal });
    const env = { ...emailEventsEnv(config), ...options.env };
    if (config.CRM_START_SIMULATOR) await start(crmSimulatorSpec(config, env));
    if (config.SMTP_START_SINK) await start(smtpSinkSpec(config, env));
    const workers: ManagedChild[] = [];
    const workerMetricsPorts: number[] = [];
    for (let i = 1; i <= config.WORKER_PROCESSES; i++) {
      const metricsPort = await workerMetricsPort(config, i);
      workerMetricsPorts.push(metricsPort);
      workers.push(await start(workerSpec(config, { ...env, WORKER_METRICS_PORT: String(metricsPort) }, i)));
    }
    // The status page links into the dev server's Web UI unless TEMPORAL_UI_URL names another.
    const uiUrl = config.TEMPORAL_UI_URL ?? temporal?.server.uiUrl;
    const api = await start(apiSpec({ ...env, OPS_PORT: String(opsPort), ...(uiUrl ? { TEMPORAL_UI_URL: uiUrl } : {}) }));

    return runningStack(config, temporal, { workers, api, children }, { workers: workerMetricsPorts, ops: opsPort }, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What the stack's users see; `temporal` follows the supervisor to each new server. */
function runningStack(
  config: Config,
  temporal: SupervisedTemporal | undefined,
  processes: Pick<RunningStack, 'workers' | 'api' | 'children'>,
  ports: { workers: number[]; ops: number },
  stop: () => Promise<void>,
): RunningStack {
  const apiUrl = `http://${config.HOST}:${config.PORT}`;
  const opsUrl = `http://${browserHost(config.OPS_HOST)}:${ports.ops}`;
  return {
    get temporal() {
      return temporal?.server;
    },
    temporalAddress: config.TEMPORAL_ADDRESS,
    apiUrl,
    opsUrl,
    consoleUrl: `${opsUrl}/console`,
    uiUrl: temporal?.server.uiUrl,
    metricsUrls: {
      api: `${opsUrl}/metrics`,
      workers: ports.workers.map((port) => `http://127.0.0.1:${port}/metrics`),
      temporal: temporal?.server.metricsUrl,
    },
    crmUrl: config.CRM_BASE_URL,
    smtpMessagesUrl: config.SMTP_START_SINK ? `http://${config.SMTP_HOST}:${config.SMTP_SINK_HTTP_PORT}/messages` : undefined,
    ...processes,
    restartTemporal: async (restart) => {
      if (!temporal) throw new Error('this stack did not start a Temporal dev server');
      return temporal.restart(restart);
    },
    stop,
  };
}

/** The dev server on the configured address, its state in a SQLite file that outlives it. */
async function startTemporal(
  config: Config,
  opsPort: number,
  options: StackOptions,
  hooks: { say: (line: string) => void; fatal: (message: string) => void },
): Promise<SupervisedTemporal> {
  const [host, portText] = splitAddress(config.TEMPORAL_ADDRESS);
  const dbFile = resolve(config.TEMPORAL_DB_FILE);
  mkdirSync(dirname(dbFile), { recursive: true });
  hooks.say(`starting Temporal dev server on ${config.TEMPORAL_ADDRESS} (state in ${dbFile}) …`);
  const started = Date.now();
  const serverOptions: DevServerOptions = {
    dbFile,
    ip: host,
    port: Number(portText),
    uiPort: config.TEMPORAL_UI_PORT,
    // Fixed for the stack's life, so a restarted server serves its metrics where they were.
    metricsPort: await getFreePort(host),
    namespace: config.TEMPORAL_NAMESPACE,
    logFile: options.temporalLogFile ?? resolve(dirname(dbFile), 'temporal.log'),
    sqlitePragmas: options.sqlitePragmas ?? DURABLE_WAL,
    dynamicConfig: { ...DEV_SERVER_TUNING, ...options.dynamicConfig },
    startTimeoutMs: 60_000,
    // With encryption on, the dev server's UI decodes payloads through the codec endpoint on the API's ops listener.
    ...(config.TEMPORAL_CODEC_KEYS ? { uiCodecEndpoint: `http://${browserHost(config.OPS_HOST)}:${opsPort}/codec` } : {}),
  };
  const temporal = await startSupervisedTemporal(serverOptions, { address: config.TEMPORAL_ADDRESS, ...hooks });
  hooks.say(`Temporal ready in ${Date.now() - started} ms`);
  return temporal;
}

/** The simulator of the chosen CRM on CRM_BASE_URL's port; a vendor's sends the CRM's changes to this stack's API. */
function crmSimulatorSpec(config: Config, env: NodeJS.ProcessEnv): ChildSpec {
  const crm = new URL(config.CRM_BASE_URL);
  const api = `http://${browserHost(config.HOST)}:${config.PORT}`;
  const vendorEnv: NodeJS.ProcessEnv =
    config.CRM_ADAPTER === 'hubspot'
      ? {
          HUBSPOT_SIM_TOKEN: config.HUBSPOT_ACCESS_TOKEN,
          HUBSPOT_SIM_WEBHOOK_URL: env.HUBSPOT_SIM_WEBHOOK_URL ?? `${api}/webhooks/hubspot`,
          HUBSPOT_SIM_CLIENT_SECRET: config.HUBSPOT_CLIENT_SECRET,
        }
      : config.CRM_ADAPTER === 'salesforce'
        ? {
            SALESFORCE_SIM_CLIENT_ID: config.SALESFORCE_CLIENT_ID,
            SALESFORCE_SIM_CLIENT_SECRET: config.SALESFORCE_CLIENT_SECRET,
            SALESFORCE_SIM_CALLOUT_URL: env.SALESFORCE_SIM_CALLOUT_URL ?? `${api}/webhooks/crm`,
            SALESFORCE_SIM_CALLOUT_SECRET: config.CRM_WEBHOOK_SECRETS?.split(',')[0]?.trim(),
          }
        : {};
  return {
    name: 'crm-sim',
    command: process.execPath,
    args: [script('tooling/simulators/main.js'), config.CRM_ADAPTER === 'rest' ? 'crm' : config.CRM_ADAPTER],
    env: { ...env, ...vendorEnv, CRM_SIM_HOST: crm.hostname, CRM_SIM_PORT: crm.port || '80' },
    readyWhen: /listening on/,
  };
}

function smtpSinkSpec(config: Config, env: NodeJS.ProcessEnv): ChildSpec {
  return {
    name: 'smtp',
    command: process.execPath,
    args: [script('tooling/simulators/main.js'), 'smtp'],
    env: {
      ...env,
      SMTP_SINK_HOST: config.SMTP_HOST,
      SMTP_SINK_PORT: String(config.SMTP_PORT),
      SMTP_SINK_HTTP_PORT: String(config.SMTP_SINK_HTTP_PORT),
      // The sink's bounces and complaints (SMTP_SINK_BOUNCE, SMTP_SINK_COMPLAIN) go to this stack's API.
      SMTP_SINK_EVENTS_URL: env.SMTP_SINK_EVENTS_URL ?? `http://${browserHost(config.HOST)}:${config.PORT}/webhooks/email-events`,
      SMTP_SINK_EVENTS_SECRET: env.SMTP_SINK_EVENTS_SECRET ?? env.EMAIL_EVENTS_SECRET,
    },
    readyWhen: /listening on/,
  };
}

/**
 * The email event intake is on in `npm start`: the API and the SMTP sink share EMAIL_EVENTS_SECRET,
 * or a development key when it is unset. Not in production, which refuses that key: there
 * the intake stays off until the provider's signing key is set.
 */
function emailEventsEnv(config: Config): NodeJS.ProcessEnv {
  const secret = config.EMAIL_EVENTS_SECRET ?? (isProduction(config) ? undefined : DEV_EMAIL_EVENTS_SECRET);
  return secret === undefined ? {} : { EMAIL_EVENTS_SECRET: secret };
}

/** WORKER_METRICS_PORT + n - 1 for worker `n` when set, else a free port: every worker process serves its own. */
async function workerMetricsPort(config: Config, n: number): Promise<number> {
  return config.WORKER_METRICS_PORT > 0 ? config.WORKER_METRICS_PORT + n - 1 : getFreePort();
}

/** Worker `n` (1-based); supervised, since a worker exits when Temporal stays away too long. */
function workerSpec(config: Config, env: NodeJS.ProcessEnv, n: number): ChildSpec {
  return {
    name: config.WORKER_PROCESSES > 1 ? `worker${n}` : 'worker',
    command: process.execPath,
    args: [script('worker/main.js')],
    env: withHeapOptions('worker', env),
    readyWhen: /worker: polling/,
    restart: true,
    readyTimeoutMs: 180_000,
  };
}

function apiSpec(env: NodeJS.ProcessEnv): ChildSpec {
  return {
    name: 'api',
    command: process.execPath,
    args: [script('src/api/server.js')],
    env: withHeapOptions('api', env),
    readyWhen: /api: listening on/,
  };
}

function splitAddress(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), address.slice(index + 1)];
}

/** The API's host as the operator's browser reaches it: a wildcard bind is reached on loopback. */
function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
