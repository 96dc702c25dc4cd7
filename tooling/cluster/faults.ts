import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../../src/client/index.js';
import type { RunningCluster } from './cluster.js';
import { TEMPORAL_METRICS_PORT, hostNamed, hostsOf } from './topology.js';

/**
 * Faults on the cluster, each with its recovery measured end to end: from the moment the
 * fault lands, a probe creates a fresh lead through an API that is still up and follows
 * its task; the fault's recovery time is when the first probe started after the fault
 * completes (processed, synced to the CRM, welcome email sent).
 */

export type ClusterFaultKind = 'history-kill' | 'app-host-kill' | 'postgres-restart' | 'partition';
export const CLUSTER_FAULTS: readonly ClusterFaultKind[] = ['history-kill', 'app-host-kill', 'postgres-restart', 'partition'];

export interface ClusterFaultEvent {
  kind: ClusterFaultKind;
  at: number;
  /** When the first lead created after the fault had fully completed; absent when none did in time. */
  recoveredAt?: number;
  /** Put back (node restarted, host reconnected) at. */
  restoredAt?: number;
  /** History faults: when the reachable history nodes together owned every shard again. */
  shardsMovedAt?: number;
  detail: string;
  error?: string;
}

export interface FaultSettings {
  /** How long a killed history node or app host stays down before it is started again. */
  downMs: number;
  /** How long a cut-off host stays cut off. */
  partitionMs: number;
  /** Which host the partition cuts off (default: the last history node). */
  partitionHost?: string;
  probeTimeoutMs: number;
}

export async function fireClusterFault(cluster: RunningCluster, kind: ClusterFaultKind, settings: FaultSettings, runTag: string): Promise<ClusterFaultEvent> {
  const t = cluster.topology;
  const at = Date.now();
  try {
    switch (kind) {
      case 'history-kill': {
        const node = hostsOf(t, 'temporal').filter((h) => h.services?.includes('history'))[0]!;
        const killed = cluster.killHost(node.name);
        const [recoveredAt, shardsMovedAt] = await Promise.all([
          probeRecovery(cluster, at, settings, `${runTag}h`),
          waitForShardsOwned(cluster, at + settings.probeTimeoutMs),
        ]);
        await sleepUntil(at + settings.downMs);
        await cluster.startHost(node.name);
        const restoredAt = Date.now();
        return {
          ...event(kind, at, recoveredAt, restoredAt, `history node ${node.name} SIGKILLed (${killed} process); ${moved(at, shardsMovedAt, t.historyShards)}; restarted after ${((restoredAt - at) / 1000).toFixed(1)} s`),
          ...(shardsMovedAt ? { shardsMovedAt } : {}),
        };
      }
      case 'app-host-kill': {
        const apps = hostsOf(t, 'app');
        const victim = apps[apps.length - 1]!;
        const killed = cluster.killHost(victim.name);
        const recoveredAt = await probeRecovery(cluster, at, settings, `${runTag}a`);
        await sleepUntil(at + settings.downMs);
        await cluster.startHost(victim.name);
        const restoredAt = Date.now();
        return event(kind, at, recoveredAt, restoredAt, `app host ${victim.name} lost every process at once (${killed}: API and workers, SIGKILL); started again after ${((restoredAt - at) / 1000).toFixed(1)} s`);
      }
      case 'postgres-restart': {
        cluster.killHost('db');
        await cluster.startHost('db');
        const restoredAt = Date.now();
        const recoveredAt = await probeRecovery(cluster, at, settings, `${runTag}p`);
        return event(kind, at, recoveredAt, restoredAt, `PostgreSQL SIGKILLed (every backend) and started again (crash recovery) in ${((restoredAt - at) / 1000).toFixed(1)} s`);
      }
      case 'partition': {
        const host = hostNamed(t, settings.partitionHost ?? hostsOf(t, 'temporal').filter((h) => h.services?.includes('history')).at(-1)!.name);
        cluster.connectHost(host.name, false);
        const [recoveredAt, shardsMovedAt] = await Promise.all([
          probeRecovery(cluster, at, settings, `${runTag}n`),
          host.services?.includes('history') ? waitForShardsOwned(cluster, at + settings.partitionMs) : Promise.resolve(undefined),
        ]);
        await sleepUntil(at + settings.partitionMs);
        cluster.connectHost(host.name, true);
        const restoredAt = Date.now();
        return {
          ...event(kind, at, recoveredAt, restoredAt, `${host.name} (${host.address}) cut off from every other host for ${((restoredAt - at) / 1000).toFixed(1)} s, then reconnected${host.services?.includes('history') ? `; ${moved(at, shardsMovedAt, t.historyShards)}` : ''}`),
          ...(shardsMovedAt ? { shardsMovedAt } : {}),
        };
      }
    }
  } catch (err) {
    return { kind, at, detail: 'failed', error: err instanceof Error ? err.message : String(err) };
  }
}

function event(kind: ClusterFaultKind, at: number, recoveredAt: number | undefined, restoredAt: number, detail: string): ClusterFaultEvent {
  return { kind, at, restoredAt, detail, ...(recoveredAt !== undefined ? { recoveredAt } : {}) };
}

function moved(at: number, movedAt: number | undefined, shards: number): string {
  return movedAt
    ? `all ${shards} shards owned by the reachable history node(s) ${((movedAt - at) / 1000).toFixed(1)} s after the fault`
    : `the reachable history node(s) did not take over all ${shards} shards in time`;
}

/**
 * Waits until the history nodes this machine can reach own every shard between them, as
 * their own `numshards_gauge` says; the time they did.
 */
export async function waitForShardsOwned(cluster: RunningCluster, deadline: number): Promise<number | undefined> {
  const history = hostsOf(cluster.topology, 'temporal').filter((h) => h.services?.includes('history'));
  while (Date.now() < deadline) {
    const owned = await Promise.all(history.map((h) => shardsOwnedBy(`http://${h.address}:${TEMPORAL_METRICS_PORT}/metrics`)));
    if (owned.reduce<number>((sum, n) => sum + (n ?? 0), 0) === cluster.topology.historyShards && owned.some((n) => n === undefined)) return Date.now();
    await sleep(250);
  }
  return undefined;
}

/** The shards a history node owns, from its Prometheus endpoint; undefined when it does not answer. */
export async function shardsOwnedBy(metricsUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(1_000) });
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('numshards_gauge{'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  } catch {
    return undefined;
  }
}

async function sleepUntil(time: number): Promise<void> {
  const wait = time - Date.now();
  if (wait > 0) await sleep(wait);
}

/**
 * Probes once a second (each probe a new lead through the first app host, which the
 * faults leave up) until one completes; the time it did. Probes run side by side, so a
 * probe stuck behind the fault does not hold back the next one.
 */
export async function probeRecovery(cluster: RunningCluster, since: number, settings: FaultSettings, tag: string): Promise<number | undefined> {
  const client = createClient({ baseUrl: cluster.apiUrls[0]!, timeoutMs: 10_000 });
  const deadline = since + settings.probeTimeoutMs;
  let recoveredAt: number | undefined;
  const probes: Promise<void>[] = [];
  for (let n = 0; recoveredAt === undefined && Date.now() < deadline; n++) {
    probes.push(
      probeOnce(client, `probe.${tag}.${n}.${since.toString(36)}@probe.cluster.example`, deadline).then((doneAt) => {
        if (doneAt !== undefined && (recoveredAt === undefined || doneAt < recoveredAt)) recoveredAt = doneAt;
      }),
    );
    await sleep(1_000);
  }
  await Promise.race([Promise.all(probes), sleep(2_000)]);
  return recoveredAt;
}

type Client = ReturnType<typeof createClient>;

async function probeOnce(client: Client, email: string, deadline: number): Promise<number | undefined> {
  try {
    const accepted = await client.leads.create({ email, first_name: 'Probe' });
    for await (const task of client.tasks.watch(accepted.task_id, { intervalMs: 250, timeoutMs: Math.max(1_000, deadline - Date.now()) })) {
      if (task.status === 'completed') return Date.now();
      if (task.status === 'failed' || task.status === 'cancelled') return undefined;
    }
  } catch {
    // not yet: the next probe tries again
  }
  return undefined;
}
