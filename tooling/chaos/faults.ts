import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random.js';

/**
 * Process faults over the load: worker SIGKILLs, Temporal dev server kill-and-restart,
 * API process SIGTERMs. A fault fires when a drawn share of the load's writes is done
 * (not at a wall-clock time), so it always lands under load however fast or slow the
 * machine is. The plan is drawn from a seeded PRNG (pure, unit-testable); the runner
 * fires each kind of fault in its own lane, so a worker kill can land in the middle of
 * a Temporal outage, and records what actually happened and when.
 */

export type FaultKind = 'worker-kill' | 'server-restart' | 'api-sigterm';

export interface PlannedFault {
  kind: FaultKind;
  /** Share of the load's writes done (0..1) when the fault fires. */
  at: number;
  /** Server restarts: how long the server stays down. */
  downtimeMs?: number;
  /** Worker kills: wait (a little) for a moment when a CRM call is in flight. */
  midActivity?: boolean;
}

export interface FaultCounts {
  workerKills: number;
  serverRestarts: number;
  apiSigterms: number;
}

export interface FaultPlanOptions {
  counts: FaultCounts;
  /** Faults land between these shares of the load (0..1). */
  from: number;
  to: number;
  serverDowntimeMs: number;
  /** Downtime of the first server restart when longer than the others (0 = same). */
  longOutageMs: number;
}

/** Random moments, spread out: each fault gets its own slice of the window, jittered within it. */
export function planFaults(random: Random, options: FaultPlanOptions): PlannedFault[] {
  const out: PlannedFault[] = [];
  const span = Math.max(0, options.to - options.from);
  const spread = (kind: FaultKind, count: number) => {
    for (let i = 0; i < count; i++) {
      const slice = span / count;
      const at = Math.round((options.from + slice * i + random.between(0.1, 0.9) * slice) * 1000) / 1000;
      const fault: PlannedFault = { kind, at };
      // The first kill waits for a CRM call in flight, so at least one kill lands mid-activity.
      if (kind === 'worker-kill') fault.midActivity = i === 0;
      if (kind === 'server-restart') {
        fault.downtimeMs = i === 0 && options.longOutageMs > 0 ? options.longOutageMs : options.serverDowntimeMs;
      }
      out.push(fault);
    }
  };
  spread('worker-kill', options.counts.workerKills);
  spread('server-restart', options.counts.serverRestarts);
  spread('api-sigterm', options.counts.apiSigterms);
  return out.sort((a, b) => a.at - b.at);
}

/** What a fault did, as it happened. Times are epoch ms. */
export interface FaultEvent {
  kind: FaultKind;
  at: number;
  /** Server restarts: when the new server answered; others: when the replacement process was seen. */
  recoveredAt?: number;
  /** Worker kills: CRM requests in flight at the moment of the kill (activities mid-call). */
  crmInFlight?: number;
  detail: string;
  error?: string;
}

export interface FaultActions {
  /** SIGKILLs the worker; resolves once a replacement process runs (or it gave up waiting). */
  killWorker(options: { midActivity: boolean }): Promise<{ at: number; detail: string; crmInFlight: number; recoveredAt?: number }>;
  restartServer(downtimeMs: number): Promise<{ at: number; detail: string; recoveredAt: number }>;
  /** SIGTERMs one API process; resolves once its replacement runs (or it gave up waiting). */
  sigtermApi(): Promise<{ at: number; detail: string; recoveredAt?: number }>;
}

/** Fires the plan; `progress` tells the share of the load done (1 once it is over). */
export async function runFaults(
  plan: readonly PlannedFault[],
  actions: FaultActions,
  progress: () => number,
  log: (event: FaultEvent) => void,
): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  const lane = async (kind: FaultKind) => {
    for (const fault of plan.filter((f) => f.kind === kind)) {
      while (progress() < fault.at) await sleep(100);
      const event = await fire(fault, actions);
      events.push(event);
      log(event);
    }
  };
  await Promise.all((['worker-kill', 'server-restart', 'api-sigterm'] as const).map(lane));
  return events.sort((a, b) => a.at - b.at);
}

async function fire(fault: PlannedFault, actions: FaultActions): Promise<FaultEvent> {
  const at = Date.now();
  try {
    switch (fault.kind) {
      case 'worker-kill':
        return { kind: fault.kind, ...(await actions.killWorker({ midActivity: fault.midActivity ?? false })) };
      case 'server-restart':
        return { kind: fault.kind, ...(await actions.restartServer(fault.downtimeMs ?? 0)) };
      case 'api-sigterm':
        return { kind: fault.kind, ...(await actions.sigtermApi()) };
    }
  } catch (err) {
    return { kind: fault.kind, at, detail: 'failed', error: err instanceof Error ? err.message : String(err) };
  }
}
