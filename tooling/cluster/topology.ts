/**
 * The local cluster's shape, as data: which test hosts exist, their addresses on the
 * cluster's private /24, and what runs on each. Every host is a network namespace
 * joined to one bridge (itself in a namespace of its own), so killing a host, or
 * cutting its link, touches only what runs there. The machine's own namespace joins the
 * bridge through one veth with the `.1` address, for the operator's curl and the load
 * generator; nothing is routed anywhere else.
 */

export type HostRole = 'db' | 'temporal' | 'saas' | 'app';

/** The Temporal server's services; `worker` is its internal system worker (batch operations, scanners). */
export type TemporalService = 'frontend' | 'matching' | 'history' | 'worker';

export interface HostSpec {
  /** Short name, unique in the cluster: `db`, `frontend`, `history1`, `app2` … */
  name: string;
  /** Network namespace name (prefix + name): at most 15 characters, so it can name an interface too. */
  ns: string;
  address: string;
  role: HostRole;
  /** Temporal hosts: the services this node runs. */
  services?: TemporalService[];
}

export interface ClusterTopology {
  prefix: string;
  /** First three octets of the private /24, e.g. `10.88.0`. */
  subnet: string;
  /** The address of the machine's own end (operator, load generator). */
  hostAddress: string;
  /** The namespace holding the bridge. */
  switchNs: string;
  hosts: HostSpec[];
  historyShards: number;
}

export interface TopologyOptions {
  prefix?: string;
  subnet?: string;
  historyNodes?: number;
  appHosts?: number;
  historyShards?: number;
}

export const TEMPORAL_PORTS: Record<TemporalService, { grpc: number; membership: number }> = {
  frontend: { grpc: 7233, membership: 6933 },
  history: { grpc: 7234, membership: 6934 },
  matching: { grpc: 7235, membership: 6935 },
  worker: { grpc: 7239, membership: 6939 },
};
export const TEMPORAL_HTTP_PORT = 7243;
export const TEMPORAL_METRICS_PORT = 9090;
export const POSTGRES_PORT = 5432;
export const API_PORT = 3000;
/** The API's ops listener (/ready, /metrics), on the app host's own address. */
export const OPS_PORT = 9460;
export const WORKER_METRICS_PORT = 9464;
export const CRM_PORT = 4010;
export const SMTP_PORT = 2525;
export const SMTP_HTTP_PORT = 8025;

export function clusterTopology(options: TopologyOptions = {}): ClusterTopology {
  const prefix = options.prefix ?? 'ao';
  const subnet = options.subnet ?? '10.88.0';
  const historyNodes = options.historyNodes ?? 2;
  const appHosts = options.appHosts ?? 2;
  const historyShards = options.historyShards ?? 8;
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) throw new Error(`cluster prefix must be 1-6 lowercase letters/digits, got "${prefix}"`);
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(subnet)) throw new Error(`cluster subnet must look like 10.88.0, got "${subnet}"`);
  if (historyNodes < 1 || historyNodes > 9 || appHosts < 1 || appHosts > 9) throw new Error('1-9 history nodes and app hosts');
  if (historyShards < historyNodes) throw new Error(`${historyShards} history shards cannot spread over ${historyNodes} history nodes`);

  const host = (name: string, octet: number, role: HostRole, services?: TemporalService[]): HostSpec => ({
    name,
    ns: `${prefix}-${name}`,
    address: `${subnet}.${octet}`,
    role,
    ...(services ? { services } : {}),
  });
  return {
    prefix,
    subnet,
    hostAddress: `${subnet}.1`,
    switchNs: `${prefix}-switch`,
    historyShards,
    hosts: [
      host('db', 10, 'db'),
      host('frontend', 11, 'temporal', ['frontend', 'worker']),
      host('matching', 12, 'temporal', ['matching']),
      ...Array.from({ length: historyNodes }, (_, i) => host(`history${i + 1}`, 13 + i, 'temporal', ['history'])),
      host('saas', 30, 'saas'),
      ...Array.from({ length: appHosts }, (_, i) => host(`app${i + 1}`, 21 + i, 'app')),
    ],
  };
}

export function hostsOf(topology: ClusterTopology, role: HostRole): HostSpec[] {
  return topology.hosts.filter((h) => h.role === role);
}

export function hostNamed(topology: ClusterTopology, name: string): HostSpec {
  const found = topology.hosts.find((h) => h.name === name);
  if (!found) throw new Error(`no host "${name}" in the cluster (hosts: ${topology.hosts.map((h) => h.name).join(', ')})`);
  return found;
}

/** The frontend's gRPC address: what API and workers set as TEMPORAL_ADDRESS. */
export function frontendAddress(topology: ClusterTopology): string {
  return `${hostNamed(topology, 'frontend').address}:${TEMPORAL_PORTS.frontend.grpc}`;
}
