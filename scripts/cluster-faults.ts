import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../tooling/temporal/binary.js';
import { startCluster, type RunningCluster } from '../tooling/cluster/cluster.js';
import { runClusterFaults } from '../tooling/cluster/fault-run.js';
import { CLUSTER_FAULTS, type ClusterFaultKind } from '../tooling/cluster/faults.js';
import { postgresDataDir } from '../tooling/cluster/postgres.js';
import { clusterTopology } from '../tooling/cluster/topology.js';

// `npm run cluster:faults`: a fresh cluster (its own namespaces and subnet, so it can run
// beside `npm run cluster`), load through its API, the four cluster faults one after
// another, then the chaos invariants. Exit code 0 only when every fault recovered and
// every invariant holds. `--short` is the form CI runs.

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    leads: { type: 'string' },
    updates: { type: 'string' },
    duration: { type: 'string' },
    faults: { type: 'string', default: CLUSTER_FAULTS.join(',') },
    partition: { type: 'string', default: '30' },
    seed: { type: 'string' },
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run cluster:faults -- [--short] [--leads 120] [--updates 3] [--duration 150] [--faults ${CLUSTER_FAULTS.join(',')}] [--partition 30] [--seed N] [--out file.json] [--data-dir .data/cluster-faults]`);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('npm run cluster:faults: the test hosts are network namespaces, which need root (CAP_NET_ADMIN).');
  process.exit(1);
}
const faults = values.faults.split(',').map((f) => f.trim()) as ClusterFaultKind[];
const unknown = faults.filter((f) => !CLUSTER_FAULTS.includes(f));
if (unknown.length > 0) {
  console.error(`unknown fault(s) ${unknown.join(', ')}; known: ${CLUSTER_FAULTS.join(', ')}`);
  process.exit(2);
}

const short = values.short;
const seed = Number(values.seed ?? Date.now() % 1_000_000);
const topology = clusterTopology({ prefix: 'aof', subnet: '10.87.0' });
const dataDir = values['data-dir'] ?? join(repoRoot() ?? process.cwd(), '.data', 'cluster-faults');
const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);
let cluster: RunningCluster | undefined;
const stop = async () => {
  await cluster?.stop();
};
process.on('SIGINT', () => void stop().then(() => process.exit(130)));

let code = 1;
try {
  cluster = await startCluster({ topology, dataDir, fresh: true, apiProcesses: 1, workerProcesses: 1, say });
  say(`cluster up; seed ${seed}; faults ${faults.join(', ')}`);
  const result = await runClusterFaults(cluster, {
    leads: Number(values.leads ?? (short ? 40 : 120)),
    updates: Number(values.updates ?? (short ? 2 : 3)),
    durationMs: Number(values.duration ?? (short ? 90 : 150)) * 1000,
    faults,
    settings: { downMs: short ? 10_000 : 15_000, partitionMs: Number(values.partition) * 1000, probeTimeoutMs: 120_000 },
    seed,
    drainTimeoutMs: 240_000,
    say,
  });
  const i = result.invariants;
  say(
    `${result.ok ? 'OK' : 'FAILED'}: ${i.acknowledged} writes acknowledged over ${i.leads} leads; lost=${i.lost} dup_crm=${i.dupCrm} ` +
      `dup_email=${i.dupEmail} (window=${i.window}) stuck=${i.stuck} missing_email=${i.missingEmail}; load ${(result.loadMs / 1000).toFixed(0)} s, drain ${(result.drainMs / 1000).toFixed(0)} s`,
  );
  for (const e of result.events) {
    say(`  ${e.kind.padEnd(17)} recovered in ${e.recoveredAt ? `${((e.recoveredAt - e.at) / 1000).toFixed(1)} s` : '—'}: ${e.error ?? e.detail}`);
  }
  for (const p of result.problems) say(`  problem: ${p}`);
  const out = values.out ?? join(dataDir, `result-${seed}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify({ seed, faults, ...result, invariants: { ...i, problems: i.problems.slice(0, 50) } }, null, 2));
  say(`result: ${out}`);
  code = result.ok ? 0 : 1;
} catch (err) {
  say(`run failed: ${(err as Error).stack ?? String(err)}`);
} finally {
  await stop();
  // A passing run leaves nothing behind (its PostgreSQL files may sit outside the data directory).
  if (code === 0) rmSync(postgresDataDir(dataDir), { recursive: true, force: true });
}
process.exit(code);
