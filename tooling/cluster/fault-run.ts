import { setTimeout as sleep } from 'node:timers/promises';
import { drain, type Observed } from '../chaos/drain.js';
import { restContacts } from '../chaos/crm.js';
import { getJson } from '../chaos/http.js';
import { checkInvariants, type FaultWindow, type InvariantReport, type MailView } from '../chaos/invariants.js';
import { LoadGenerator } from '../chaos/load.js';
import { seededRandom } from '../chaos/random.js';
import type { RunningCluster } from './cluster.js';
import { fireClusterFault, type ClusterFaultEvent, type ClusterFaultKind, type FaultSettings } from './faults.js';

/**
 * Load through the cluster's first API while faults land one after another, then a drain
 * and the chaos invariants over every acknowledged write: nothing lost, nothing applied
 * twice in the CRM, no second welcome email outside a fault's window, nothing stuck.
 */

export interface FaultRunOptions {
  leads: number;
  updates: number;
  durationMs: number;
  faults: readonly ClusterFaultKind[];
  settings: FaultSettings;
  seed: number;
  drainTimeoutMs: number;
  say: (line: string) => void;
}

export interface FaultRunResult {
  ok: boolean;
  events: ClusterFaultEvent[];
  invariants: InvariantReport;
  acknowledged: number;
  loadMs: number;
  drainMs: number;
  drained: boolean;
  problems: string[];
}

const MESSAGE_ID_DOMAIN = 'leads.example.com';
const WINDOW_MS = 10_000;

export async function runClusterFaults(cluster: RunningCluster, o: FaultRunOptions): Promise<FaultRunResult> {
  const random = seededRandom(o.seed);
  const runTag = `c${o.seed.toString(36)}`;
  const load = new LoadGenerator({
    apiUrl: cluster.apiUrls[0]!,
    runTag,
    leads: o.leads,
    updatesPerLead: o.updates,
    durationMs: o.durationMs,
    thinkMs: [100, 1_500],
    duplicateCreateRate: 0.1,
    maxInFlight: 16,
    requestTimeoutMs: 30_000,
    giveUpAfterMs: 300_000,
    random,
  });
  const startedAt = Date.now();
  const elapsed = (t = Date.now()) => `${((t - startedAt) / 1000).toFixed(1)}s`;
  const ticker = setInterval(() => {
    const p = load.progress();
    o.say(`t=${elapsed()} acknowledged ${p.acked}/${p.planned}, in flight ${p.inFlight}, unresolved ${p.unresolved}`);
  }, 10_000);

  // Faults one after another, the n-th once n/(count+1) of the load is done and the one before is over.
  const faultsDone = (async () => {
    const events: ClusterFaultEvent[] = [];
    for (const [i, kind] of o.faults.entries()) {
      const share = (i + 1) / (o.faults.length + 1);
      while (load.doneShare() < share && load.doneShare() < 1) await sleep(200);
      o.say(`fault ${kind} at t=${elapsed()} (${Math.round(load.doneShare() * 100)}% of the load) …`);
      const e = await fireClusterFault(cluster, kind, o.settings, `${runTag}${i}`);
      events.push(e);
      o.say(`  ${e.error ? `ERROR ${e.error}` : e.detail}; ${e.recoveredAt ? `a new lead completed end to end ${((e.recoveredAt - e.at) / 1000).toFixed(1)} s after the fault` : 'NO new lead completed in time'}`);
    }
    return events;
  })();

  const loaded = await load.run();
  const loadEnded = Date.now();
  clearInterval(ticker);
  const events = await faultsDone;
  o.say(`load done in ${elapsed(loadEnded)}; ${load.progress().acked} writes acknowledged; draining …`);

  const observed: Observed = {
    apiUrl: cluster.apiUrls[0]!,
    messageIdDomain: MESSAGE_ID_DOMAIN,
    contacts: () => restContacts(cluster.crmUrl),
    messages: async () => (await getJson<{ messages: MailView[] }>(`${cluster.smtpUrl}/messages`, 120_000)).messages,
  };
  const drainStarted = Date.now();
  const drained = await drain(observed, loaded.leads, Date.now() + o.drainTimeoutMs, 10_000, o.say, () => undefined);
  const drainMs = Date.now() - drainStarted;
  const [contacts, messages] = await Promise.all([observed.contacts(), observed.messages()]);
  const invariants = checkInvariants({
    leads: loaded.leads,
    contacts,
    messages,
    tasks: drained.tasks,
    faults: events.filter((e) => !e.error).map(windowOf),
    messageIdDomain: MESSAGE_ID_DOMAIN,
    windowMs: WINDOW_MS,
  });
  const problems = [
    ...events.filter((e) => e.error).map((e) => `${e.kind}: ${e.error}`),
    ...events.filter((e) => !e.error && e.recoveredAt === undefined).map((e) => `${e.kind}: no new lead completed within ${o.settings.probeTimeoutMs / 1000} s`),
    ...(invariants.lost ? [`lost=${invariants.lost}`] : []),
    ...(invariants.doubleApplied ? [`double_applied=${invariants.doubleApplied}`] : []),
    ...(invariants.dupCrm ? [`dup_crm=${invariants.dupCrm}`] : []),
    ...(invariants.dupEmailContacts ? [`dup_email_contacts=${invariants.dupEmailContacts}`] : []),
    ...(invariants.dupEmail ? [`dup_email=${invariants.dupEmail}`] : []),
    ...(invariants.stuck ? [`stuck=${invariants.stuck}`] : []),
    ...(invariants.missingEmail ? [`missing_email=${invariants.missingEmail}`] : []),
    ...(drained.complete ? [] : ['the drain did not complete']),
  ];
  return {
    ok: problems.length === 0,
    events,
    invariants,
    acknowledged: invariants.acknowledged,
    loadMs: loadEnded - startedAt,
    drainMs,
    drained: drained.complete,
    problems,
  };
}

/** When an email may have been sent without Temporal learning it: from the fault until it was over. */
function windowOf(e: ClusterFaultEvent): FaultWindow {
  return { kind: e.kind === 'app-host-kill' ? 'worker-kill' : 'server-outage', from: e.at, to: Math.max(e.recoveredAt ?? e.at, e.restoredAt ?? e.at) };
}
