import { setTimeout as sleep } from 'node:timers/promises';

// The drain check: after a load run, every acknowledged write must reach the CRM
// simulator at its latest version and every new lead must get exactly one welcome email.
//
// Each write the load generators send carries a marker, `custom.bench_rev`, numbering the
// writes sent for that lead (1 = the create). Versions count the changes a lead's workflow
// applied, so for a lead with `acked` acknowledged and `attempted` sent writes the CRM must
// hold a version in [acked, attempted] and content whose marker is at least the last
// acknowledged one: a write that failed or timed out may or may not have been applied, an
// acknowledged one must have been.
//
// The ledger keys leads by email: a lead's id is known only once the API's answer to its
// create names it, and a write is counted as attempted before that.

export interface LeadRecord {
  email: string;
  /** The id the answer to the lead's create named; undefined while no create was acknowledged. */
  leadId?: string | undefined;
  attempted: number;
  acked: number;
  createAttempted: boolean;
  createAcked: boolean;
  /** Marker of the latest acknowledged write (0 = none). */
  lastAckedMarker: number;
}

export class WriteLedger {
  private readonly leads = new Map<string, LeadRecord>();
  ackedCreates = 0;
  ackedWrites = 0;

  private record(email: string): LeadRecord {
    let record = this.leads.get(email);
    if (!record) {
      record = { email, attempted: 0, acked: 0, createAttempted: false, createAcked: false, lastAckedMarker: 0 };
      this.leads.set(email, record);
    }
    return record;
  }

  /** A write to the lead with this email is about to be sent; returns its marker. */
  attempt(email: string, isCreate: boolean): number {
    const record = this.record(email);
    record.attempted += 1;
    if (isCreate) record.createAttempted = true;
    return record.attempted;
  }

  /** The write with this marker was answered 2xx; a create's answer names the lead (`leadId`). */
  ack(email: string, marker: number, isCreate: boolean, leadId?: string): void {
    const record = this.record(email);
    record.leadId ??= leadId;
    record.acked += 1;
    record.lastAckedMarker = Math.max(record.lastAckedMarker, marker);
    if (isCreate && !record.createAcked) {
      record.createAcked = true;
      this.ackedCreates += 1;
    }
    this.ackedWrites += 1;
  }

  records(): LeadRecord[] {
    return [...this.leads.values()];
  }

  /** Adds records kept elsewhere (the raw-client child processes); emails must not overlap. */
  merge(records: readonly LeadRecord[]): void {
    for (const r of records) {
      const mine = this.record(r.email);
      mine.leadId ??= r.leadId;
      mine.attempted += r.attempted;
      mine.acked += r.acked;
      mine.createAttempted ||= r.createAttempted;
      if (r.createAcked && !mine.createAcked) {
        mine.createAcked = true;
        this.ackedCreates += 1;
      }
      mine.lastAckedMarker = Math.max(mine.lastAckedMarker, r.lastAckedMarker);
      this.ackedWrites += r.acked;
    }
  }

  get size(): number {
    return this.leads.size;
  }
}

export interface CrmContactView {
  externalId: string;
  version: number;
  lead: Record<string, unknown>;
}

export interface DrainProblem {
  /** The lead's id, or its email when no answer named it. */
  leadId: string;
  problem: string;
}

export interface DrainVerdict {
  ok: boolean;
  leadsChecked: number;
  writesChecked: number;
  missingContacts: number;
  behind: number;
  ahead: number;
  staleContent: number;
  missingEmails: number;
  duplicateEmails: number;
  /** At most ten problems, for the report. */
  examples: DrainProblem[];
}

export function markerOf(lead: Record<string, unknown>): number | undefined {
  const custom = lead.custom as Record<string, unknown> | undefined;
  const rev = custom?.bench_rev;
  return typeof rev === 'number' ? rev : undefined;
}

/** Lead id of a welcome email, from its Message-ID `welcome.<leadId>@domain`. */
export function welcomeLeadId(messageId: string): string | undefined {
  return /^welcome\.([a-z2-7]{20})@/.exec(messageId)?.[1];
}

export function checkDrain(
  records: readonly LeadRecord[],
  contacts: ReadonlyMap<string, CrmContactView>,
  welcomes: ReadonlyMap<string, number>,
): DrainVerdict {
  const verdict: DrainVerdict = {
    ok: true,
    leadsChecked: 0,
    writesChecked: 0,
    missingContacts: 0,
    behind: 0,
    ahead: 0,
    staleContent: 0,
    missingEmails: 0,
    duplicateEmails: 0,
    examples: [],
  };
  const problem = (leadId: string, text: string) => {
    verdict.ok = false;
    if (verdict.examples.length < 10) verdict.examples.push({ leadId, problem: text });
  };
  for (const r of records) {
    // A lead no answer named cannot be found by id: its create was never acknowledged, so
    // nothing is owed for it (as before, when such a lead's id was known, only copies counted).
    const name = r.leadId ?? r.email;
    const emails = r.leadId === undefined ? 0 : (welcomes.get(r.leadId) ?? 0);
    if (r.createAcked && emails === 0) {
      verdict.missingEmails += 1;
      problem(name, 'no welcome email');
    }
    if (emails > 1) {
      verdict.duplicateEmails += 1;
      problem(name, `${emails} welcome emails`);
    }
    if (r.acked === 0) continue;
    verdict.leadsChecked += 1;
    verdict.writesChecked += r.acked;
    const contact = r.leadId === undefined ? undefined : contacts.get(r.leadId);
    if (!contact) {
      verdict.missingContacts += 1;
      problem(name, `not in the CRM (${r.acked} acknowledged writes)`);
      continue;
    }
    if (contact.version < r.acked) {
      verdict.behind += 1;
      problem(name, `CRM at version ${contact.version}, ${r.acked} writes acknowledged`);
      continue;
    }
    if (contact.version > r.attempted) {
      verdict.ahead += 1;
      problem(name, `CRM at version ${contact.version} but only ${r.attempted} writes were sent`);
      continue;
    }
    const marker = markerOf(contact.lead);
    if (marker === undefined || marker < r.lastAckedMarker || marker > r.attempted) {
      verdict.staleContent += 1;
      problem(name, `CRM holds write #${marker ?? '?'}, latest acknowledged is #${r.lastAckedMarker}`);
    }
  }
  return verdict;
}

export interface SimulatorUrls {
  crmUrl: string;
  /** The SMTP sink's HTTP base, e.g. http://127.0.0.1:8025 */
  smtpHttpUrl: string;
}

async function getJson<T>(url: string, timeoutMs = 60_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return (await res.json()) as T;
}

export interface SimCounts {
  contacts: number;
  emails: number;
  /** CRM PUTs received, any outcome: moves while workflows are still writing. */
  crmRequests: number;
}

/** Cheap counters of what reached the simulators since their last reset. */
export async function simCounts(urls: SimulatorUrls): Promise<SimCounts> {
  const [crm, smtp] = await Promise.all([
    getJson<{ contacts: number; requests: number }>(`${urls.crmUrl}/_sim/stats`, 10_000),
    getJson<{ accepted: number }>(`${urls.smtpHttpUrl}/_sim/stats`, 10_000),
  ]);
  return { contacts: crm.contacts, emails: smtp.accepted, crmRequests: crm.requests };
}

/** Empties both simulators, so the next drain check only sees the next run's writes. */
export async function resetSimulators(urls: SimulatorUrls): Promise<void> {
  for (const url of [`${urls.crmUrl}/_sim/reset`, `${urls.smtpHttpUrl}/_sim/reset`]) {
    const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`POST ${url} answered ${res.status}`);
  }
}

async function fetchContacts(urls: SimulatorUrls): Promise<Map<string, CrmContactView>> {
  const crm = await getJson<{ contacts: CrmContactView[] }>(`${urls.crmUrl}/_sim/contacts`);
  return new Map(crm.contacts.map((c) => [c.externalId, c]));
}

async function fetchWelcomes(urls: SimulatorUrls): Promise<Map<string, number>> {
  const smtp = await getJson<{ messages: Array<{ messageId: string }> }>(`${urls.smtpHttpUrl}/messages`);
  const welcomes = new Map<string, number>();
  for (const m of smtp.messages) {
    const id = welcomeLeadId(m.messageId);
    if (id) welcomes.set(id, (welcomes.get(id) ?? 0) + 1);
  }
  return welcomes;
}

export interface DrainResult {
  ok: boolean;
  timedOut: boolean;
  /** Gave up early: everything had arrived, the check failed and nothing moved any more. */
  stalled?: boolean;
  /** Seconds from the end of the load until the check passed (or gave up). */
  drainSeconds: number;
  leads: number;
  writes: number;
  verdict: DrainVerdict;
}

/**
 * Polls the simulators until the ledger's writes have all arrived, then verifies them one
 * by one. `loadEndedAt` is when the load stopped (Date.now() clock).
 */
export async function waitForDrain(
  urls: SimulatorUrls,
  ledger: WriteLedger,
  opts: {
    loadEndedAt: number;
    timeoutMs: number;
    /** Give up early when everything arrived, the check still fails and nothing moved for this long (longer than an activity timeout and its retry). */
    stallMs?: number;
    onWait?: (counts: SimCounts, expected: number) => void;
  },
): Promise<DrainResult> {
  const stallMs = opts.stallMs ?? 120_000;
  let lastMove = { at: Date.now(), key: '' };
  const deadline = opts.loadEndedAt + opts.timeoutMs;
  const expected = ledger.ackedCreates;
  let lastReport = 0;
  // The message list is the big one: fetch it again only when the sink's count moved.
  let welcomes: { count: number; map: Map<string, number> } | undefined;
  const verify = async (counts: SimCounts) => {
    if (!welcomes || welcomes.count !== counts.emails) welcomes = { count: counts.emails, map: await fetchWelcomes(urls) };
    return checkDrain(ledger.records(), await fetchContacts(urls), welcomes.map);
  };
  const result = (verdict: DrainVerdict, timedOut: boolean, at: number, stalled = false): DrainResult => ({
    ok: verdict.ok,
    timedOut,
    ...(stalled && !verdict.ok ? { stalled: true } : {}),
    drainSeconds: Math.max(0, (at - opts.loadEndedAt) / 1000),
    leads: ledger.size,
    writes: ledger.ackedWrites,
    verdict,
  });
  for (;;) {
    const now = Date.now();
    const counts = await simCounts(urls).catch(() => ({ contacts: -1, emails: -1, crmRequests: -1 }));
    const key = `${counts.contacts}/${counts.emails}/${counts.crmRequests}`;
    if (key !== lastMove.key) lastMove = { at: now, key };
    const arrived = counts.contacts >= expected && counts.emails >= expected;
    if (arrived) {
      const verdict = await verify(counts);
      // Missing or behind can still arrive; duplicates and versions past what was sent will not go away.
      const stalled = now - lastMove.at > stallMs;
      const settled = verdict.ok || verdict.duplicateEmails > 0 || verdict.ahead > 0 || stalled;
      if (settled) return result(verdict, false, now, stalled);
      if (Date.now() > deadline) return result(verdict, true, Date.now());
    } else if (now > deadline) {
      return result(await verify(counts), true, Date.now());
    }
    if (opts.onWait && now - lastReport >= 5000) {
      lastReport = now;
      opts.onWait(counts, expected);
    }
    await sleep(arrived ? 1000 : 250);
  }
}
