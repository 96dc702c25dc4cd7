import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { startCluster, type RunningCluster } from '../tooling/cluster/cluster.js';
import { pidsIn } from '../tooling/cluster/network.js';
import { SERVER_VERSION } from '../tooling/cluster/temporal-nodes.js';
import { clusterTopology, hostsOf } from '../tooling/cluster/topology.js';
import type { BenchStack } from './bench-stack.js';
import { onCleanup } from './cleanup.js';
import { CpuMeter, SELF } from './cpu.js';
import { RssTracker } from './rss.js';

// The local cluster (tooling/cluster) as a benchmark stack: the same steps (seed-mix, C2, C3)
// run against its first API, its frontend and its workers. Its own namespaces and subnet,
// a fresh data directory, no CRM rate limit.

export interface ClusterBenchStack extends BenchStack {
  cluster: RunningCluster;
  /** CPU per role: each Temporal node, PostgreSQL, the app hosts' API and workers, the fakes, the load generator. */
  cpuMeter(): CpuMeter;
}

export async function startClusterBenchStack(opts: { dataDir: string; apiProcesses: number; workerProcesses: number }): Promise<ClusterBenchStack> {
  const topology = clusterTopology({ prefix: 'aob', subnet: '10.86.0' });
  const appHosts = hostsOf(topology, 'app').length;
  const env = { CRM_RATE_LIMIT_PER_SECOND: '0', LOG_LEVEL: 'warn', API_KEYS: '' };
  const cluster = await startCluster({
    topology,
    dataDir: opts.dataDir,
    fresh: true,
    apiProcesses: opts.apiProcesses,
    workerProcesses: opts.workerProcesses,
    env,
    say: (line) => console.log(`cluster | ${line}`),
  });
  const unregister = onCleanup('benchmark cluster', () => cluster.stop());
  const config = loadConfig({ ...process.env, ...env, TEMPORAL_ADDRESS: cluster.temporalAddress, CRM_BASE_URL: cluster.crmUrl });
  const rss = new RssTracker();
  for (const node of hostsOf(topology, 'temporal')) rss.track(`temporal ${node.name}`, () => pidsIn(node.ns)[0]);
  rss.track('api', () => cluster.apiPids()[0], { children: true });
  let stopped = false;
  const stack: ClusterBenchStack = {
    cluster,
    config,
    env,
    apiUrl: cluster.apiUrls[0]!,
    temporalAddress: cluster.temporalAddress,
    // Several history hosts each report their own shards: one host's figures are not the engine's.
    temporalMetricsUrl: () => undefined,
    sim: { crmUrl: cluster.crmUrl, smtpHttpUrl: cluster.smtpUrl },
    flags: {
      persistence: `PostgreSQL 15, Temporal server ${SERVER_VERSION} as ${hostsOf(topology, 'temporal').map((n) => n.services!.join('+')).join(', ')}; ${topology.historyShards} shards`,
      sqlitePragmas: {},
      dynamicConfig: {},
      apiProcesses: opts.apiProcesses,
      workerProcesses: opts.workerProcesses * appHosts,
      workerMaxConcurrentWorkflowTasks: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      workerMaxConcurrentActivities: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      workerMaxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      continueAsNewAfterEvents: config.CONTINUE_AS_NEW_AFTER_EVENTS,
      crmRateLimitPerSecond: 0,
      queryTimeoutMs: config.QUERY_TIMEOUT_MS,
      writeTimeoutMs: config.WRITE_TIMEOUT_MS,
    },
    rss,
    fatal: undefined,
    stopWorkers: () => cluster.stopWorkers(),
    workerPids: () => cluster.workerPids(),
    startWorkers: (count, workerEnv) => cluster.startWorkers(count, workerEnv),
    cpuMeter() {
      const meter = new CpuMeter();
      for (const node of hostsOf(topology, 'temporal')) meter.role(`temporal ${node.name} (${node.services!.join('+')})`, () => pidsIn(node.ns));
      meter.role('PostgreSQL', () => pidsIn(hostsOf(topology, 'db')[0]!.ns));
      meter.role('API (all hosts)', () => hostsOf(topology, 'app').flatMap((h) => pidsIn(h.ns)).filter((pid) => !cluster.workerPids().includes(pid)));
      meter.role('workers (all hosts)', () => cluster.workerPids());
      meter.role('CRM + SMTP fakes', () => pidsIn(hostsOf(topology, 'saas')[0]!.ns));
      meter.role('load generator', () => [SELF]);
      return meter;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unregister();
      rss.sample();
      await cluster.stop();
    },
  };
  rss.sample();
  return stack;
}

export const clusterBenchDataDir = (root: string) => join(root, '.data', 'bench-cluster');
