import { execFileSync } from 'node:child_process';
import type { ClusterTopology, HostSpec } from './topology.js';

/**
 * The cluster's test hosts as Linux network namespaces (iproute2): one namespace per
 * host with `lo` and an `eth0` veth whose other end sits on a bridge in the switch
 * namespace, plus one veth from the machine's own namespace to that bridge. No route,
 * no NAT: packets go only among these addresses and each namespace's loopback.
 * Needs root (CAP_NET_ADMIN), as `ip netns` does.
 */

const HOST_LINK = 'eth0';

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (err as Error).message}`);
  }
}

const inNs = (ns: string, args: string[]) => ip(['netns', 'exec', ns, 'ip', ...args]);

export function existingNamespaces(): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean);
}

/** The veth on the machine's side: named after the prefix so teardown finds it. */
const rootLink = (topology: ClusterTopology) => `${topology.prefix}-host`;

export function createNetwork(topology: ClusterTopology): void {
  const leftovers = existingNamespaces().filter((ns) => ns.startsWith(`${topology.prefix}-`));
  if (leftovers.length > 0) destroyNetwork(topology);

  const sw = topology.switchNs;
  ip(['netns', 'add', sw]);
  inNs(sw, ['link', 'set', 'lo', 'up']);
  inNs(sw, ['link', 'add', 'br0', 'type', 'bridge']);
  inNs(sw, ['link', 'set', 'br0', 'up']);

  topology.hosts.forEach((host) => {
    const port = switchPort(topology, host);
    ip(['netns', 'add', host.ns]);
    ip(['link', 'add', HOST_LINK, 'netns', host.ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
    inNs(sw, ['link', 'set', port, 'master', 'br0']);
    inNs(sw, ['link', 'set', port, 'up']);
    inNs(host.ns, ['addr', 'add', `${host.address}/24`, 'dev', HOST_LINK]);
    inNs(host.ns, ['link', 'set', HOST_LINK, 'up']);
    inNs(host.ns, ['link', 'set', 'lo', 'up']);
  });

  ip(['link', 'add', rootLink(topology), 'type', 'veth', 'peer', 'name', 'uplink', 'netns', sw]);
  inNs(sw, ['link', 'set', 'uplink', 'master', 'br0']);
  inNs(sw, ['link', 'set', 'uplink', 'up']);
  ip(['addr', 'add', `${topology.hostAddress}/24`, 'dev', rootLink(topology)]);
  ip(['link', 'set', rootLink(topology), 'up']);
}

/** Kills whatever still runs in the cluster's namespaces, then removes them and the machine's veth. */
export function destroyNetwork(topology: ClusterTopology): void {
  for (const ns of existingNamespaces().filter((n) => n.startsWith(`${topology.prefix}-`))) {
    killAllIn(ns, 'SIGKILL');
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
  try {
    ip(['link', 'del', rootLink(topology)]);
  } catch {
    // went with its peer
  }
}

/** Pids of every process running in a namespace. */
export function pidsIn(ns: string): number[] {
  try {
    return ip(['netns', 'pids', ns])
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export function killAllIn(ns: string, signal: NodeJS.Signals): number {
  const pids = pidsIn(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return pids.length;
}

/**
 * Takes a host off the network or puts it back, at the switch: the host's own link stays
 * up, so its processes see no error, only silence (packets to and from it are dropped),
 * as in a real partition.
 */
export function setHostConnected(topology: ClusterTopology, host: HostSpec, connected: boolean): void {
  inNs(topology.switchNs, ['link', 'set', switchPort(topology, host), connected ? 'up' : 'down']);
}

function switchPort(topology: ClusterTopology, host: HostSpec): string {
  const i = topology.hosts.findIndex((h) => h.ns === host.ns);
  if (i < 0) throw new Error(`${host.name} is not a host of this cluster`);
  return `p${i}`;
}
