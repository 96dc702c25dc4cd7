import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { serverConfigYaml } from '../../tooling/cluster/server-config.js';
import { clusterTopology, frontendAddress, hostsOf } from '../../tooling/cluster/topology.js';

describe('cluster topology', () => {
  it('puts every host on its own address and namespace, with the Temporal roles on separate nodes', () => {
    const t = clusterTopology();
    const addresses = t.hosts.map((h) => h.address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(addresses).not.toContain(t.hostAddress);
    expect(new Set(t.hosts.map((h) => h.ns)).size).toBe(t.hosts.length);
    for (const h of t.hosts) expect(h.ns.length).toBeLessThanOrEqual(15);
    const services = hostsOf(t, 'temporal').map((n) => n.services);
    expect(services).toEqual([['frontend', 'worker'], ['matching'], ['history'], ['history']]);
    expect(hostsOf(t, 'app')).toHaveLength(2);
    expect(t.historyShards).toBeGreaterThanOrEqual(8);
    expect(frontendAddress(t)).toBe('10.88.0.11:7233');
  });

  it('refuses shapes that cannot work', () => {
    expect(() => clusterTopology({ prefix: 'Too-Long-Prefix' })).toThrow(/prefix/);
    expect(() => clusterTopology({ historyShards: 1, historyNodes: 2 })).toThrow(/shards/);
    expect(() => clusterTopology({ subnet: '10.88' })).toThrow(/subnet/);
  });
});

describe('Temporal server config per node', () => {
  const t = clusterTopology({ prefix: 'aot', subnet: '10.89.0', historyShards: 16 });
  const configOf = (name: string) =>
    parse(serverConfigYaml(t, t.hosts.find((h) => h.name === name)!, { dynamicConfigFile: '/x/dc.yaml' })) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: { connectAddr: string; pluginName: string } }> };
      global: { membership: { broadcastAddress: string }; metrics: { prometheus: { listenAddress: string } } };
      services: Record<string, { rpc: { bindOnIP: string; grpcPort: number } }>;
      clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
    };

  it('binds and gossips on the node’s own address, all nodes on the same PostgreSQL stores', () => {
    const h1 = configOf('history1');
    const h2 = configOf('history2');
    expect(h1.global.membership.broadcastAddress).toBe('10.89.0.13');
    expect(h2.global.membership.broadcastAddress).toBe('10.89.0.14');
    expect(h2.services.history!.rpc.bindOnIP).toBe('10.89.0.14');
    expect(h1.global.metrics.prometheus.listenAddress).toBe('10.89.0.13:9090');
    for (const c of [h1, h2, configOf('frontend'), configOf('matching')]) {
      expect(c.persistence.numHistoryShards).toBe(16);
      expect(Object.values(c.persistence.datastores).map((d) => [d.sql.pluginName, d.sql.connectAddr])).toEqual([
        ['postgres12', '10.89.0.10:5432'],
        ['postgres12', '10.89.0.10:5432'],
      ]);
      expect(c.clusterMetadata.clusterInformation.active.rpcAddress).toBe('10.89.0.11:7233');
    }
  });
});
