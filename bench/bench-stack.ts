import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { DEV_SERVER_TUNING, DURABLE_WAL, startStack, type RunningStack } from '../tooling/stack/stack.js';
import { startChild, type ManagedChild } from '../tooling/stack/supervisor.js';
import { startDevServer, type DevServer } from '../tooling/temporal/dev-server.js';
import { getFreePort } from '../tooling/temporal/ports.js';
import { onCleanup } from './cleanup.js';
import type { SimulatorUrls } from './drain.js';
import { CpuMeter, SELF, withDescendants } from './cpu.js';
import { withHeapOptions } from '../src/node-heap.js';
import { RssTracker } from './rss.js';

// A whole stack for one benchmark: free loopback ports, its own temporary SQLite file (never
// the user's .data/), no CRM rate limit, quiet logs. Stopped at the end, on failure and on Ctrl-C.

const DIST = fileURLToPath(new URL('..', import.meta.url)); // dist/ when built

export interface BenchStackOptions {
  apiProcesses: number;
  workerProcesses: number;
  /** `--sqlite-pragma` values; undefined = the stack's default (DURABLE_WAL), {} = SQLite's own defaults. */
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, unknown>;
  /** Temporal state in memory instead of a file (not durable; for the tuning comparison only). */
  inMemory?: boolean;
  /** Extra env for the API and worker processes (e.g. worker concurrency). */
  env?: Record<string, string>;
}

/** What the report says about the server a run was measured on. */
export interface ServerFlags {
  persistence: string;
  sqlitePragmas: Record<string, string>;
  dynamicConfig: Record<string, unknown>;
  apiProcesses: number;
  workerProcesses: number;
  workerMaxConcurrentWorkflowTasks: number;
  workerMaxConcurrentActivities: number;
  workerMaxCachedWorkflows: number;
  continueAsNewAfterEvents: number;
  crmRateLimitPerSecond: number;
  queryTimeoutMs: number;
  writeTimeoutMs: number;
}

export interface BenchStack {
  config: Config;
  /** The env the stack's API and worker processes get (ports, addresses, settings). */
  env: Record<string, string>;
  apiUrl: string;
  temporalAddress: string;
  /** The Temporal server's Prometheus metrics, once it runs. */
  temporalMetricsUrl(): string | undefined;
  sim: SimulatorUrls;
  flags: ServerFlags;
  rss: RssTracker;
  /** Set when a process that must not die died. */
  fatal: string | undefined;
  /** A meter of CPU seconds per role (Temporal, API, workers, fakes, load generator). */
  cpuMeter(): CpuMeter;
  /** Stops every worker process (in-flight tasks finish first). */
  stopWorkers(): Promise<void>;
  /** Process ids of the worker processes running now. */
  workerPids(): number[];
  /** Starts `count` new worker processes, optionally with other settings; resolves once they poll. */
  startWorkers(count: number, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startBenchStack(opts: BenchStackOptions): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'ao-bench-'));
  const host = '127.0.0.1';
  const temporalPort = await getFreePort(host);
  const env: Record<string, string> = {
    HOST: host,
    PORT: String(await getFreePort(host)),
    OPS_PORT: String(await getFreePort(host)),
    TEMPORAL_ADDRESS: `${host}:${temporalPort}`,
    TEMPORAL_UI_PORT: String(await getFreePort(host)),
    TEMPORAL_DB_FILE: join(dir, 'temporal.sqlite'),
    TEMPORAL_START_DEV_SERVER: opts.inMemory ? 'false' : 'true',
    CRM_BASE_URL: `http://${host}:${await getFreePort(host)}`,
    CRM_RATE_LIMIT_PER_SECOND: '0',
    SMTP_HOST: host,
    SMTP_PORT: String(await getFreePort(host)),
    SMTP_SINK_HTTP_PORT: String(await getFreePort(host)),
    LOG_LEVEL: 'warn',
    API_KEYS: '',
    API_PROCESSES: String(opts.apiProcesses),
    WORKER_PROCESSES: String(opts.workerProcesses),
    ...opts.env,
  };
  const config = loadConfig({ ...process.env, ...env });

  let devServer: DevServer | undefined;
  let stack: RunningStack | undefined;
  const extraWorkers: ManagedChild[] = [];
  const rss = new RssTracker();
  let stopped = false;
  const handle: BenchStack = {
    config,
    env,
    apiUrl: `http://${host}:${env.PORT}`,
    temporalAddress: config.TEMPORAL_ADDRESS,
    temporalMetricsUrl: () => devServer?.metricsUrl ?? stack?.metricsUrls.temporal,
    sim: { crmUrl: config.CRM_BASE_URL, smtpHttpUrl: `http://${host}:${config.SMTP_SINK_HTTP_PORT}` },
    flags: {
      persistence: opts.inMemory ? 'in-memory (not durable)' : 'SQLite file',
      sqlitePragmas: opts.inMemory ? {} : (opts.sqlitePragmas ?? { ...DURABLE_WAL }),
      // What the dev server runs with: the stack's tuning plus this run's values.
      dynamicConfig: { ...DEV_SERVER_TUNING, ...opts.dynamicConfig },
      apiProcesses: config.API_PROCESSES,
      workerProcesses: config.WORKER_PROCESSES,
      workerMaxConcurrentWorkflowTasks: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      workerMaxConcurrentActivities: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      workerMaxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      continueAsNewAfterEvents: config.CONTINUE_AS_NEW_AFTER_EVENTS,
      crmRateLimitPerSecond: config.CRM_RATE_LIMIT_PER_SECOND,
      queryTimeoutMs: config.QUERY_TIMEOUT_MS,
      writeTimeoutMs: config.WRITE_TIMEOUT_MS,
    },
    rss,
    fatal: undefined,
    cpuMeter() {
      const fakes = () => (stack?.children ?? []).filter((c) => c.name === 'crm-sim' || c.name === 'smtp').map((c) => c.pid).filter((p): p is number => p !== undefined);
      return new CpuMeter()
        .role('Temporal dev server (SQLite)', withDescendants(() => (devServer ?? stack?.temporal)?.process.pid))
        .role('API', withDescendants(() => stack?.api.pid))
        .role('workers', () => handle.workerPids())
        .role('CRM + SMTP fakes', fakes)
        .role('load generator', () => [SELF]);
    },
    async stopWorkers() {
      rss.sample();
      const all = [...(stack?.workers ?? []), ...extraWorkers];
      for (const w of all) w.markStopping();
      await Promise.all(all.map((w) => w.stop()));
    },
    workerPids() {
      return [...(stack?.workers ?? []), ...extraWorkers]
        .map((w) => w.pid)
        .filter((pid): pid is number => pid !== undefined && isRunning(pid));
    },
    async startWorkers(count, workerEnv = {}) {
      for (let i = 0; i < count; i++) {
        const worker = await startChild(
          {
            name: `worker+${extraWorkers.length + 1}`,
            command: process.execPath,
            args: [resolve(DIST, 'worker/main.js')],
            env: withHeapOptions('worker', { ...env, ...workerEnv }),
            readyWhen: /worker: polling/,
            restart: true,
            readyTimeoutMs: 180_000,
          },
          (message) => {
            handle.fatal ??= message;
          },
        );
        extraWorkers.push(worker);
        rss.track('worker', () => worker.pid);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      rss.sample();
      for (const w of extraWorkers) w.markStopping();
      await Promise.all(extraWorkers.map((w) => w.stop()));
      await stack?.stop();
      await devServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const unregister = onCleanup('benchmark stack', () => handle.stop());
  const stop = handle.stop;
  handle.stop = async () => {
    unregister();
    await stop();
  };

  try {
    if (opts.inMemory) {
      devServer = await startDevServer({
        ip: host,
        port: temporalPort,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        logFile: join(dir, 'temporal.log'),
        dynamicConfig: { ...DEV_SERVER_TUNING, ...opts.dynamicConfig },
        startTimeoutMs: 60_000,
      });
    }
    stack = await startStack(config, {
      env,
      temporalLogFile: join(dir, 'temporal.log'),
      sqlitePragmas: opts.sqlitePragmas,
      dynamicConfig: opts.dynamicConfig,
      onFatal: (message) => {
        handle.fatal ??= message;
        console.error(`bench: ${message}`);
      },
    });
  } catch (err) {
    await handle.stop();
    throw err;
  }
  const running = stack;
  rss.track('api', () => running.api.pid, { children: true });
  for (const w of running.workers) rss.track('worker', () => w.pid);
  rss.track('temporal', () => (devServer ?? running.temporal)?.process.pid);
  for (const child of running.children) {
    if (child.name === 'crm-sim' || child.name === 'smtp') rss.track(child.name, () => child.pid);
  }
  rss.sample();
  return handle;
}
