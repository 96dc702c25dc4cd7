import type { FaultCounts, FaultEvent } from './faults.js';
import type { ChaosOptions } from './options.js';
import type { Check, ScenarioResult } from './report.js';

/** The pass/fail verdicts on one scenario's figures, in the order they are printed. */

/** Which faults a scenario injects: process faults by count, and whether the CRM and SMTP misbehave. */
export interface FaultSetup {
  counts: FaultCounts;
  crm: boolean;
  smtp: boolean;
}

export function checksFor(r: ScenarioResult, setup: FaultSetup, o: ChaosOptions, fatal: string | undefined): Check[] {
  return [
    ...invariantChecks(r, setup, o, fatal),
    ...rateChecks(r, o),
    ...faultChecks(r, setup),
    ...injectionChecks(r, setup, o),
  ];
}

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });

/** What must hold whatever the faults: nothing lost, doubled or stuck, every write acknowledged and readable. */
function invariantChecks(r: ScenarioResult, setup: FaultSetup, o: ChaosOptions, fatal: string | undefined): Check[] {
  const i = r.invariants;
  const checks = [
    check('stack stayed up', !fatal, fatal ?? 'no unexpected exit'),
    check('lost = 0', i.lost === 0, `${i.lost} lead(s) not at their last acknowledged version in the CRM`),
    check('double_applied = 0', i.doubleApplied === 0, `${i.doubleApplied} lead(s) ahead of what was acknowledged`),
    check('dup_crm = 0', i.dupCrm === 0, `${i.dupCrm} duplicate CRM creates/contacts`),
    check('dup_email = 0 outside the at-least-once window', i.dupEmail === 0, `${i.dupEmail} duplicate welcome email(s) not explained by a fault`),
    check('missing_email = 0', i.missingEmail === 0, `${i.missingEmail} lead(s) without a welcome email`),
    check('dup_email_contacts = 0', i.dupEmailContacts === 0, `${i.dupEmailContacts} CRM contact(s) sharing an email with another`),
    check(
      'mailed_after_optout = 0',
      i.mailedAfterOptOut === 0,
      `${i.mailedAfterOptOut} message(s) accepted more than the grace after their address's opt-out (${i.optedOut} lead(s) opted out)`,
    ),
    check('stuck = 0', i.stuck === 0, `${i.stuck} task(s) not terminal at the drain deadline`),
    check('every write acknowledged', i.unresolved === 0 && i.rejected === 0, `${i.unresolved} unresolved, ${i.rejected} rejected`),
    check('drained before the deadline', r.drained, r.drained ? 'yes' : `not drained within ${o.drainTimeoutMs / 1000} s`),
  ];
  if (setup.crm || setup.smtp) {
    checks.push(check('retries happened', i.tasksWithRetries > 0 && i.maxAttempts > 1, `${i.tasksWithRetries} task(s) with attempts > 1, max ${i.maxAttempts}`));
  }
  checks.push(
    check('no acknowledged write denied', r.reads.denied === 0, `${r.reads.denied} read(s) right after a 202 answered 404 (of ${r.reads.checked})`),
    check(
      'reads from the events show every acknowledged change',
      r.reads.behindEvents === 0,
      `${r.reads.behindEvents} lead read(s) with read_source "events" behind the 202s before them`,
    ),
  );
  return checks;
}

function rateChecks(r: ScenarioResult, o: ChaosOptions): Check[] {
  if (o.crm === 'hubspot') return hubSpotRateChecks(r);
  const checks: Check[] = [];
  if (o.crmRateLimit > 0) {
    checks.push(
      check(
        'CRM rate limit honoured',
        r.crm.maxPerSecond <= o.crmRateLimit && r.crm.rateLimited === 0,
        `max ${r.crm.maxPerSecond} accepted writes/s, limit ${o.crmRateLimit}; ${r.crm.rateLimited} write(s) refused by the limit`,
      ),
    );
  }
  if (o.workerCrmRate > 0) {
    // The workers' own promise: every CRM request, retries included, went through a limiter,
    // and no sliding second holds more grants than the limit. Grant times are the workers'
    // clock, carried in each request; arrival times would also count the simulator's own
    // stalls on a busy machine (reported as arrivals_per_second).
    checks.push(
      check(
        'workers stayed within their CRM rate',
        r.crm.maxGrantedPerSecond <= o.workerCrmRate && r.crm.ungranted === 0,
        `at most ${r.crm.maxGrantedPerSecond} CRM writes sent in one sliding second (workers' limit ${o.workerCrmRate}, ${o.workerProcesses} process(es)); ${r.crm.ungranted} sent without the limiter`,
      ),
    );
  }
  return checks;
}

/**
 * HubSpot's simulator and the workers hold the same rolling limit: no request refused by it, and
 * none of its windows over it. (Its requests carry no grant time, so arrivals are what is counted.)
 */
function hubSpotRateChecks(r: ScenarioResult): Check[] {
  return [
    check(
      'HubSpot rate limit honoured',
      r.crm.maxPerWindow <= r.crm.limit && r.crm.rateLimited === 0,
      `max ${r.crm.maxPerWindow} requests in a rolling 10 s, limit ${r.crm.limit}; ${r.crm.rateLimited} refused by the limit`,
    ),
  ];
}

/** The planned process faults happened, and the stack recovered from each. */
function faultChecks(r: ScenarioResult, setup: FaultSetup): Check[] {
  const checks: Check[] = [];
  const done = (kind: FaultEvent['kind']) => r.faults.filter((f) => f.kind === kind && !f.error);
  const kills = done('worker-kill');
  if (setup.counts.workerKills > 0) {
    checks.push(
      check(
        'worker killed and restarted',
        kills.length === setup.counts.workerKills && kills.every((k) => k.recoveredAt !== undefined) && r.workerRestarts >= kills.length,
        `${kills.length}/${setup.counts.workerKills} kills, ${kills.filter((k) => k.recoveredAt).length} replaced, supervisor restarts ${r.workerRestarts}`,
      ),
      check('a worker kill landed mid-activity', kills.some((k) => (k.crmInFlight ?? 0) > 0), `CRM calls in flight at the kills: ${kills.map((k) => k.crmInFlight).join(', ')}`),
    );
  }
  if (setup.counts.serverRestarts > 0) {
    const restarts = done('server-restart');
    checks.push(check('Temporal killed and restarted', restarts.length === setup.counts.serverRestarts, `${restarts.length}/${setup.counts.serverRestarts}`));
  }
  if (setup.counts.apiSigterms > 0) {
    const sigterms = done('api-sigterm');
    checks.push(
      check(
        'API process SIGTERMed and replaced',
        sigterms.length === setup.counts.apiSigterms && sigterms.every((s) => s.recoveredAt !== undefined),
        `${sigterms.length}/${setup.counts.apiSigterms}, replaced ${sigterms.filter((s) => s.recoveredAt).length}`,
      ),
    );
  }
  return checks;
}

/** The CRM and SMTP faults asked for were really served, so the run tested what it claims. */
function injectionChecks(r: ScenarioResult, setup: FaultSetup, o: ChaosOptions): Check[] {
  const checks: Check[] = [];
  if (setup.crm) {
    const f = o.crmFaults;
    if ((f.errorRate ?? 0) > 0) checks.push(check('CRM 500s injected', (r.crm.byStatus['500'] ?? 0) > 0, `${r.crm.byStatus['500'] ?? 0}`));
    if ((f.rate429 ?? 0) > 0) checks.push(check('CRM 429s injected', (r.crm.byStatus['429'] ?? 0) > 0, `${r.crm.byStatus['429'] ?? 0}`));
    if ((f.hangRate ?? 0) > 0) checks.push(check('CRM hangs injected', r.crm.hung > 0, `${r.crm.hung}`));
  }
  if (setup.smtp) {
    const f = o.smtpFaults;
    if ((f.tempFailRate ?? 0) > 0) checks.push(check('SMTP 4xx injected', r.smtp.rejected > 0, `${r.smtp.rejected}`));
    if ((f.dropRate ?? 0) > 0) checks.push(check('SMTP drops injected', r.smtp.dropped > 0, `${r.smtp.dropped}`));
  }
  return checks;
}
