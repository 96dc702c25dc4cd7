import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { repoRoot } from '../tooling/temporal/binary.js';
import { startCluster, type RunningCluster } from '../tooling/cluster/cluster.js';
import { clusterTopology } from '../tooling/cluster/topology.js';

// `npm run cluster`: the production shape on this machine (PostgreSQL, Temporal as separate
// frontend / matching / history processes, API + workers on two hosts), until Ctrl-C.

const { values } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    'history-nodes': { type: 'string', default: '2' },
    'app-hosts': { type: 'string', default: '2' },
    shards: { type: 'string', default: '8' },
    'api-processes': { type: 'string', default: '1' },
    'worker-processes': { type: 'string', default: '1' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run cluster -- [--fresh] [--history-nodes 2] [--app-hosts 2] [--shards 8] [--api-processes 1] [--worker-processes 1] [--data-dir .data/cluster]
  Needs root (network namespaces), Go (first run builds the Temporal server), PostgreSQL's Debian package.
  --fresh wipes the data directory (PostgreSQL included); --shards applies only to a fresh database.`);
  process.exit(0);
}

if (process.getuid?.() !== 0) {
  console.error('npm run cluster: the test hosts are network namespaces, which need root (CAP_NET_ADMIN).');
  process.exit(1);
}

const topology = clusterTopology({
  historyNodes: Number(values['history-nodes']),
  appHosts: Number(values['app-hosts']),
  historyShards: Number(values.shards),
});
const started = Date.now();
const say = (line: string) => console.log(`cluster | ${line}`);
let cluster: RunningCluster | undefined;
let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  say('stopping: apps, fakes, Temporal, PostgreSQL, then the network …');
  await cluster?.stop();
  say('stopped.');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  cluster = await startCluster({
    topology,
    dataDir: values['data-dir'] ?? join(repoRoot() ?? process.cwd(), '.data', 'cluster'),
    fresh: values.fresh,
    apiProcesses: Number(values['api-processes']),
    workerProcesses: Number(values['worker-processes']),
    say,
  });
} catch (err) {
  console.error(`\nthe cluster could not start: ${(err as Error).message}`);
  process.exit(1);
}

console.log(
  [
    '',
    `Cluster is up (${((Date.now() - started) / 1000).toFixed(1)} s):`,
    `  Temporal        ${cluster.temporalAddress}   (temporal workflow list --address ${cluster.temporalAddress})`,
    ...cluster.apiUrls.map((url, i) => `  API ${`${i + 1}`.padEnd(12)}${url}`),
    `  CRM simulator   ${cluster.crmUrl}/_sim/contacts`,
    `  SMTP sink       ${cluster.smtpUrl}/messages`,
    `  Server metrics  ${cluster.metricsUrls.join(' ')}`,
    `  Logs            ${cluster.logDir}`,
    '',
    'Try:',
    `  curl -s -X POST ${cluster.apiUrls[0]}/api/leads -H 'content-type: application/json' -d '{"email":"ada@example.com","first_name":"Ada"}'`,
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ].join('\n'),
);
