import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppHost } from './app-host.js';
import { launchOnHost, tcpOpen, waitUntil, type HostProcess } from './host-process.js';
import { createNetwork, destroyNetwork, killAllIn, setHostConnected } from './network.js';
import { ensureTemporalRole, initDataDir, postgresDataDir, startPostgres, waitForPostgres } from './postgres.js';
import { prepareNamespace, serverBinaries, setUpSchema, startNode, waitForNode, writeNodeConfigs } from './temporal-nodes.js';
import {
  API_PORT,
  OPS_PORT,
  CRM_PORT,
  SMTP_HTTP_PORT,
  SMTP_PORT,
  WORKER_METRICS_PORT,
  TEMPORAL_METRICS_PORT,
  frontendAddress,
  hostNamed,
  hostsOf,
  type ClusterTopology,
  type HostSpec,
} from './topology.js';

/**
 * The local cluster: PostgreSQL, the Temporal server as frontend / matching / history
 * processes, the CRM and SMTP fakes, and this project's API and workers on two or more
 * app hosts, every one in its own network namespace. The same build as `npm start`: app
 * hosts run its API and worker entry points with TEMPORAL_ADDRESS pointed at the
 * cluster's frontend and the fakes' addresses; configuration only.
 *
 * The levers (kill a host, restart it, restart PostgreSQL, cut a host off) are what the
 * fault runs pull.
 */

export interface ClusterOptions {
  topology: ClusterTopology;
  dataDir: string;
  /** Wipe the data directory (PostgreSQL included) first. */
  fresh: boolean;
  apiProcesses: number;
  workerProcesses: number;
  /** Extra settings for the app hosts' processes. */
  env?: Record<string, string>;
  say: (line: string) => void;
}

export interface RunningCluster {
  topology: ClusterTopology;
  temporalAddress: string;
  apiUrls: string[];
  crmUrl: string;
  smtpUrl: string;
  metricsUrls: string[];
  logDir: string;
  /** SIGKILLs every process on a host; resolves with how many there were. */
  killHost(name: string): number;
  /** Starts a host's processes again and waits until they serve. */
  startHost(name: string): Promise<void>;
  /** Takes a host off the network (or back on), at the switch. */
  connectHost(name: string, connected: boolean): void;
  /** Stops every worker on every app host (in-flight tasks finish first). */
  stopWorkers(): Promise<void>;
  /** Starts `count` workers over the app hosts; resolves once they poll. */
  startWorkers(count: number, env?: NodeJS.ProcessEnv): Promise<void>;
  workerPids(): number[];
  /** The API primary process of each app host that is up. */
  apiPids(): number[];
  stop(): Promise<void>;
}

// The same build's fakes, wherever it was compiled to (dist/, or a test's own build).
const SIMULATORS = () => fileURLToPath(new URL('../simulators/main.js', import.meta.url));

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const { topology, say } = options;
  const bin = serverBinaries();
  const pgData = postgresDataDir(options.dataDir);
  if (options.fresh) {
    rmSync(options.dataDir, { recursive: true, force: true });
    rmSync(pgData, { recursive: true, force: true });
  }
  const logDir = join(options.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const configFiles = writeNodeConfigs(topology, join(options.dataDir, 'temporal'));

  const running = new Map<string, HostProcess[]>();
  const launchers = new Map<string, () => Promise<HostProcess[]>>();
  const db = hostNamed(topology, 'db');
  const saas = hostNamed(topology, 'saas');

  launchers.set(db.name, async () => {
    const pg = startPostgres(db, pgData, logDir);
    await waitForPostgres(db, pg);
    return [pg];
  });
  for (const node of hostsOf(topology, 'temporal')) {
    launchers.set(node.name, async () => {
      const proc = startNode(node, configFiles[node.name]!, bin, logDir);
      await waitForNode(node, proc);
      return [proc];
    });
  }
  launchers.set(saas.name, async () => startFakes(saas, logDir));
  const appEnv = appEnvironment(topology, options);
  const apps = new Map(
    hostsOf(topology, 'app').map((app) => [app.name, new AppHost(app, { ...process.env, ...appEnv, HOST: app.address, OPS_HOST: app.address }, options.workerProcesses, logDir)]),
  );
  // A killed host's processes, until they are reaped: PostgreSQL refuses to start while the PID
  // in its postmaster.pid still exists, and SIGKILL returns before the old postmaster is gone
  // (a restart right after the kill failed that way in CI, leaving the cluster without its
  // database).
  const dying = new Map<string, Promise<unknown>>();
  const startHost = async (name: string) => {
    const killed = dying.get(name);
    if (killed) {
      dying.delete(name);
      await Promise.race([killed, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    const app = apps.get(name);
    if (app) return app.start();
    const launch = launchers.get(name);
    if (!launch) throw new Error(`no host "${name}"`);
    running.set(name, await launch());
  };

  say(`network: ${topology.hosts.length} hosts in namespaces ${topology.prefix}-*, ${topology.subnet}.0/24, this machine at ${topology.hostAddress}`);
  createNetwork(topology);
  try {
    initDataDir(pgData, topology);
    await timed(say, `PostgreSQL on ${db.address}`, () => startHost(db.name));
    ensureTemporalRole(db, pgData);
    await timed(say, 'Temporal schema (temporal, temporal_visibility)', () => setUpSchema(topology, bin));
    // One node alone first: on a fresh database every node would race to write the cluster
    // metadata record, and the losers exit. Then the others side by side, the frontend last
    // (it answers only once history and matching have joined the ring).
    const nodes = hostsOf(topology, 'temporal');
    const [first, ...rest] = nodes.filter((n) => n.name !== 'frontend');
    await timed(say, `Temporal server: ${nodes.map((n) => `${n.name} (${n.services!.join('+')}) on ${n.address}`).join(', ')}; ${topology.historyShards} history shards`, async () => {
      await startHost(first!.name);
      await Promise.all(rest.map((n) => startHost(n.name)));
      await startHost('frontend');
    });
    await timed(say, 'namespace default + search attributes', () => prepareNamespace(topology, 'default'));
    await timed(say, `CRM simulator and SMTP sink on ${saas.address}`, () => startHost(saas.name));
    await timed(say, `API + ${options.workerProcesses} worker(s) each on ${[...apps.values()].map((a) => `${a.host.name} (${a.host.address})`).join(', ')}`, () =>
      Promise.all([...apps.values()].map((a) => a.start())).then(() => undefined),
    );
  } catch (err) {
    await stopAll(topology, running, apps);
    throw err;
  }

  return {
    topology,
    temporalAddress: frontendAddress(topology),
    apiUrls: [...apps.values()].map((a) => a.apiUrl),
    crmUrl: `http://${saas.address}:${CRM_PORT}`,
    smtpUrl: `http://${saas.address}:${SMTP_HTTP_PORT}`,
    metricsUrls: hostsOf(topology, 'temporal').map((n) => `http://${n.address}:${TEMPORAL_METRICS_PORT}/metrics`),
    logDir,
    killHost(name) {
      const host = hostNamed(topology, name);
      dying.set(name, Promise.all((running.get(name) ?? []).map((p) => p.exited)));
      running.delete(name);
      apps.get(name)?.markDown();
      return killAllIn(host.ns, 'SIGKILL');
    },
    startHost,
    connectHost: (name, connected) => setHostConnected(topology, hostNamed(topology, name), connected),
    stopWorkers: () => Promise.all([...apps.values()].map((a) => a.stopWorkers())).then(() => undefined),
    async startWorkers(count, env) {
      // Round-robin over the app hosts.
      const hosts = [...apps.values()];
      await Promise.all(hosts.map((a, i) => a.startWorkers(Math.floor(count / hosts.length) + (i < count % hosts.length ? 1 : 0), env)));
    },
    workerPids: () => [...apps.values()].flatMap((a) => a.workerPids()),
    apiPids: () => [...apps.values()].map((a) => a.apiPid()).filter((p): p is number => p !== undefined),
    stop: () => stopAll(topology, running, apps),
  };
}

/** The app hosts' settings: the same variables as `npm start`, pointed at the cluster. */
function appEnvironment(topology: ClusterTopology, options: ClusterOptions): Record<string, string> {
  const saas = hostNamed(topology, 'saas');
  return {
    PORT: String(API_PORT),
    OPS_PORT: String(OPS_PORT),
    ALLOW_OPEN_API: 'true', // the cluster's private subnet; nothing else can reach it
    // One load generator is one client address: the default limit outside loopback would
    // throttle the runs (the limit itself is tested in test/integration/rate-limit-cluster.test.ts).
    RATE_LIMIT_PER_MINUTE: '0',
    API_PROCESSES: String(options.apiProcesses),
    // Every worker of every app host: each sends its share of CRM_RATE_LIMIT_PER_SECOND.
    WORKER_PROCESSES: String(options.workerProcesses * hostsOf(topology, 'app').length),
    WORKER_METRICS_PORT: String(WORKER_METRICS_PORT),
    TEMPORAL_ADDRESS: frontendAddress(topology),
    TEMPORAL_START_DEV_SERVER: 'false',
    CRM_START_SIMULATOR: 'false',
    CRM_BASE_URL: `http://${saas.address}:${CRM_PORT}`,
    SMTP_START_SINK: 'false',
    SMTP_HOST: saas.address,
    SMTP_PORT: String(SMTP_PORT),
    SMTP_SINK_HTTP_PORT: String(SMTP_HTTP_PORT),
    ...options.env,
  };
}

async function startFakes(saas: HostSpec, logDir: string): Promise<HostProcess[]> {
  const env = {
    ...process.env,
    CRM_SIM_HOST: saas.address,
    CRM_SIM_PORT: String(CRM_PORT),
    SMTP_SINK_HOST: saas.address,
    SMTP_SINK_PORT: String(SMTP_PORT),
    SMTP_SINK_HTTP_PORT: String(SMTP_HTTP_PORT),
  };
  const crm = launchOnHost({ name: 'crm-simulator', host: saas, command: process.execPath, args: [SIMULATORS(), 'crm'], env, logDir });
  const smtp = launchOnHost({ name: 'smtp-sink', host: saas, command: process.execPath, args: [SIMULATORS(), 'smtp'], env, logDir });
  await waitUntil('CRM simulator', () => tcpOpen(saas.address, CRM_PORT), 30_000, crm);
  await waitUntil('SMTP sink', () => tcpOpen(saas.address, SMTP_HTTP_PORT), 30_000, smtp);
  return [crm, smtp];
}

async function timed<T>(say: (line: string) => void, what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  say(`${what} …`);
  const result = await step();
  say(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** Apps first (they drain their work), then the fakes, Temporal, PostgreSQL; then the network goes. */
async function stopAll(topology: ClusterTopology, running: Map<string, HostProcess[]>, apps: Map<string, AppHost>): Promise<void> {
  await Promise.all([...apps.values()].map((a) => a.stop()));
  const order = ['saas', 'temporal', 'db'] as const;
  for (const role of order) {
    const procs = hostsOf(topology, role).flatMap((h) => running.get(h.name) ?? []);
    await Promise.all(procs.map((p) => p.stop(10_000)));
    await sleep(100);
  }
  destroyNetwork(topology);
}
