import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterTopology, hostsOf, TEMPORAL_METRICS_PORT, TEMPORAL_PORTS, type TemporalService } from '../../tooling/cluster/topology.js';

// docker-compose.yml runs the Temporal server in the local cluster's shape (npm run cluster):
// the same nodes with the same roles, the same server version, clients on the frontend.

interface ComposeService {
  image?: string;
  environment?: Record<string, unknown>;
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const temporalNodes = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('temporalio/server:'));
// The 1.32 image runs `temporal-server start`, whose --service flag reads TEMPORAL_SERVICES.
const rolesOf = (s: ComposeService) => String(s.environment?.TEMPORAL_SERVICES ?? '').split(',').map((r) => r.trim()).sort();
const key = (roles: readonly string[]) => [...roles].sort().join(',');

describe('docker-compose.yml Temporal topology', () => {
  it('has one node per local-cluster node, with the same roles (TEMPORAL_SERVICES)', () => {
    const cluster = hostsOf(clusterTopology(), 'temporal').map((h) => key(h.services ?? []));
    const composed = temporalNodes.map(([, s]) => key(rolesOf(s)));
    expect(composed.sort()).toEqual(cluster.sort());
    expect(temporalNodes.map(([name]) => name).sort()).toEqual([
      'temporal-frontend',
      'temporal-history-1',
      'temporal-history-2',
      'temporal-matching',
    ]);
  });

  it('runs the local cluster server version, with admin-tools of the same tag', () => {
    const script = readFileSync(new URL('../../scripts/ensure-temporal-server.mjs', import.meta.url), 'utf8');
    const clusterVersion = /SERVER_VERSION = 'v([\d.]+)'/.exec(script)?.[1];
    expect(clusterVersion).toBeDefined();
    for (const [name, s] of temporalNodes) expect(s.image, name).toBe(`temporalio/server:${clusterVersion}`);
    const adminTools = Object.values(compose.services).filter((s) => s.image?.startsWith('temporalio/admin-tools:'));
    expect(adminTools.length).toBeGreaterThan(0);
    for (const s of adminTools) expect(s.image).toBe(`temporalio/admin-tools:${clusterVersion}`);
  });

  it('binds and broadcasts each node on its own address, checks it there, and exports metrics', () => {
    for (const [name, s] of temporalNodes) {
      const env = s.environment ?? {};
      // BIND_ON_IP=0.0.0.0 would need a broadcast address per node; unset, the image takes the container's.
      expect(env, name).not.toHaveProperty('BIND_ON_IP');
      // Read by older images only: set alone, the node would run every role.
      expect(env, name).not.toHaveProperty('SERVICES');
      expect(env.PROMETHEUS_ENDPOINT, name).toBe(`0.0.0.0:${TEMPORAL_METRICS_PORT}`);
      const first = rolesOf(s).find((r) => r !== 'worker') as TemporalService;
      // `$$` is compose's escape: the shell in the container sees $(hostname -i).
      expect(s.healthcheck?.test, name).toEqual(['CMD-SHELL', `nc -z $$(hostname -i) ${TEMPORAL_PORTS[first].grpc}`]);
    }
    const shards = new Set(temporalNodes.map(([, s]) => s.environment?.NUM_HISTORY_SHARDS));
    expect(shards.size).toBe(1);
  });

  it('points every Temporal client at the frontend', () => {
    const frontend = `temporal-frontend:${TEMPORAL_PORTS.frontend.grpc}`;
    for (const name of ['api', 'worker']) {
      expect(compose.services[name]?.environment?.TEMPORAL_ADDRESS, name).toBe(`\${DEPLOY_TEMPORAL_ADDRESS:-${frontend}}`);
    }
    for (const name of ['temporal-ui', 'temporal-create-namespace']) {
      expect(compose.services[name]?.environment?.TEMPORAL_ADDRESS, name).toBe(frontend);
      expect(compose.services[name]?.depends_on, name).toHaveProperty('temporal-frontend');
    }
    expect(compose.services['temporal-create-namespace']?.depends_on).toHaveProperty('temporal-history-2');
  });
});

describe('docker-compose.yml heap settings', () => {
  it('starts the API and the worker with the heap settings npm start uses (src/node-heap.ts)', async () => {
    const { HEAP_NODE_OPTIONS } = await import('../../src/node-heap.js');
    const fallback = (value: unknown) => /^\$\{[A-Z_]+:-(.*)\}$/.exec(String(value))?.[1];
    expect(fallback(compose.services.api?.environment?.NODE_OPTIONS)).toBe(HEAP_NODE_OPTIONS.api);
    expect(fallback(compose.services.worker?.environment?.NODE_OPTIONS)).toBe(HEAP_NODE_OPTIONS.worker);
  });
});
