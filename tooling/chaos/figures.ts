import type { SmtpSinkStats } from '../simulators/smtp-sink.js';
import type { CrmCounters } from './crm.js';
import type { FaultEvent } from './faults.js';
import type { AttemptRecord } from './load.js';
import type { ChaosOptions } from './options.js';
import type { ScenarioResult } from './report.js';

/**
 * A scenario's share of the simulators' counters (they count over the whole run, so
 * each scenario reports the difference), and what happened to the API's requests.
 */

export function crmFigures(before: CrmCounters, after: CrmCounters, o: ChaosOptions): ScenarioResult['crm'] {
  const hubspot = o.crm === 'hubspot';
  return {
    adapter: o.crm,
    byStatus: deltaCounts(before.byStatus, after.byStatus),
    hung: after.hung - before.hung,
    rateLimited: (after.rateLimited ?? 0) - (before.rateLimited ?? 0),
    requests: after.requests - before.requests,
    records: after.records - before.records,
    maxPerSecond: after.maxPerSecond,
    maxPerWindow: after.maxPerWindow,
    windowMs: hubspot ? 10_000 : 1_000,
    maxArrivalsPerSecond: after.maxArrivalsPerSecond,
    maxGrantedPerSecond: after.maxGrantedPerSecond,
    ungranted: after.ungranted - before.ungranted,
    limit: hubspot ? o.hubspotPer10s : o.crmRateLimit,
    workerRate: hubspot ? o.hubspotPer10s : o.workerCrmRate,
  };
}

function deltaCounts(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

export function smtpDelta(before: SmtpSinkStats, after: SmtpSinkStats): ScenarioResult['smtp'] {
  return {
    accepted: after.accepted - before.accepted,
    rejected: after.rejected - before.rejected,
    dropped: after.dropped - before.dropped,
    duplicateMessageIds: after.duplicateMessageIds - before.duplicateMessageIds,
  };
}

export function apiFigures(attempts: readonly AttemptRecord[], faults: readonly FaultEvent[]): ScenarioResult['api'] {
  const count = (list: readonly AttemptRecord[]) => {
    const out: Record<string, number> = {};
    for (const a of list) out[a.outcome] = (out[a.outcome] ?? 0) + 1;
    return out;
  };
  return {
    attempts: attempts.length,
    byOutcome: count(attempts),
    sigterms: faults
      .filter((f) => f.kind === 'api-sigterm' && !f.error)
      .map((f) => ({
        inFlight: count(attempts.filter((a) => a.startedAt <= f.at && a.endedAt > f.at)),
        next2s: count(attempts.filter((a) => a.startedAt > f.at && a.startedAt <= f.at + 2_000)),
      })),
  };
}
