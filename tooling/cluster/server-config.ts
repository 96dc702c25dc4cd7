import { stringify } from 'yaml';
import {
  POSTGRES_PORT,
  TEMPORAL_HTTP_PORT,
  TEMPORAL_METRICS_PORT,
  TEMPORAL_PORTS,
  frontendAddress,
  hostNamed,
  type ClusterTopology,
  type HostSpec,
} from './topology.js';

/**
 * The Temporal server's configuration for one node of the local cluster: the same
 * PostgreSQL stores for every node, its own address for binding and for membership
 * (nodes find each other through the cluster_membership table, then gossip on their
 * membership ports), and a Prometheus endpoint on its own address.
 */

export const DATABASE = { user: 'temporal', password: 'temporal', main: 'temporal', visibility: 'temporal_visibility' };

export interface ServerConfigOptions {
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export function serverConfig(topology: ClusterTopology, node: HostSpec, options: ServerConfigOptions): Record<string, unknown> {
  const db = hostNamed(topology, 'db');
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${db.address}:${POSTGRES_PORT}`,
      connectProtocol: 'tcp',
      user: DATABASE.user,
      password: DATABASE.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const services = Object.fromEntries(
    Object.entries(TEMPORAL_PORTS).map(([service, ports]) => [
      service,
      {
        rpc: {
          grpcPort: ports.grpc,
          membershipPort: ports.membership,
          bindOnIP: node.address,
          ...(service === 'frontend' ? { httpPort: TEMPORAL_HTTP_PORT } : {}),
        },
      },
    ]),
  );
  return {
    log: { stdout: true, level: options.logLevel ?? 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: topology.historyShards,
      datastores: {
        'postgres-default': store(DATABASE.main, 20),
        'postgres-visibility': store(DATABASE.visibility, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: node.address },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${node.address}:${TEMPORAL_METRICS_PORT}` },
      },
    },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontendAddress(topology) },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  };
}

export function serverConfigYaml(topology: ClusterTopology, node: HostSpec, options: ServerConfigOptions): string {
  return stringify(serverConfig(topology, node, options));
}

/**
 * Dynamic config shared by every node. The search-attribute cache refreshes on read so a
 * lead written right after registration is indexed; the frontend's per-namespace rate
 * limits are raised past what two cores can produce (the default would shed a bench); a
 * workflow task whose worker died comes back within 10 s of its timeout (see DEV_SERVER_TUNING).
 */
export function dynamicConfigYaml(): string {
  return stringify({
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
    'frontend.namespaceRPS': [{ value: 100_000 }],
    'frontend.rps': [{ value: 100_000 }],
    'history.rps': [{ value: 100_000 }],
    'matching.rps': [{ value: 100_000 }],
    'history.workflowTaskRetryMaxInterval': [{ value: '10s' }],
  });
}
