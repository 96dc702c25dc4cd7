import type { CrmContact, CrmFaults, CrmStats } from '../simulators/crm-simulator.js';
import type { HubSpotFaults, HubSpotStats } from '../simulators/hubspot/state.js';
import { getJson, sendJson } from './http.js';
import { HubSpotFaultDriver } from './hubspot-faults.js';
import type { ContactView } from './invariants.js';

/**
 * The CRM a chaos run writes to, behind one interface: the REST simulator (the default) or
 * the HubSpot simulator (`--crm hubspot`). Faults are asked for in the REST simulator's
 * terms (rates of 500s, 429s and hangs, a latency); each CRM puts them in place with its
 * own switches. Contacts and counters come back in one shape, so the invariants and the
 * figures do not care which CRM held them.
 */

export const CRMS = ['rest', 'hubspot'] as const;
export type CrmName = (typeof CRMS)[number];

/** A CRM simulator's counters over the whole run, in the shape both simulators can fill. */
export interface CrmCounters {
  requests: number;
  /** Records the CRM accepted: one per 2xx write on REST, the inputs of 2xx batch upserts on HubSpot. */
  records: number;
  byStatus: Record<string, number>;
  /** Requests held past the adapter's timeout by the hang fault. */
  hung: number;
  /** Requests refused by the CRM's own limit (not by an injected 429). */
  rateLimited: number;
  /** Requests being handled right now (-1 when the CRM does not say). */
  inFlight: number;
  /** Peak requests the CRM admitted in one sliding second, and in its limit's own window (REST: the same second). */
  maxPerSecond: number;
  maxPerWindow: number;
  /** REST only: arrivals and the workers' grants per sliding second, and writes sent without a grant (0 on HubSpot). */
  maxArrivalsPerSecond: number;
  maxGrantedPerSecond: number;
  ungranted: number;
}

export interface ChaosCrm {
  name: CrmName;
  url: string;
  /** Replaces the faults in place with these (REST terms); the HubSpot one keeps injecting until cleared. */
  setFaults(faults: Partial<CrmFaults>): Promise<void>;
  clearFaults(): Promise<void>;
  contacts(): Promise<ContactView[]>;
  stats(): Promise<CrmCounters>;
}

export interface ChaosCrmOptions {
  url: string;
  /** The adapter's CRM_TIMEOUT_MS: a HubSpot hang holds requests beyond it. */
  timeoutMs: number;
  /** Reports a fault driver's failure (the run goes on without the faults it missed). */
  say: (line: string) => void;
}

export function chaosCrm(name: CrmName, options: ChaosCrmOptions): ChaosCrm {
  return name === 'hubspot' ? hubSpotCrm(options) : restCrm(options.url);
}

// Reading every contact of a long run can take a while on a busy machine.
const CONTACTS_TIMEOUT_MS = 120_000;

/** The REST simulator's contacts (/_sim/contacts): each keeps the lead whole, and counts its creates and replays. */
export async function restContacts(url: string): Promise<ContactView[]> {
  const { contacts } = await getJson<{ contacts: CrmContact[] }>(`${url}/_sim/contacts`, CONTACTS_TIMEOUT_MS);
  return contacts.map((c) => ({
    leadId: c.externalId,
    email: typeof c.lead.email === 'string' ? c.lead.email : '',
    version: c.version,
    lead: c.lead,
    creates: c.creates,
    duplicateKeys: c.duplicateKeys,
  }));
}

function restCrm(url: string): ChaosCrm {
  return {
    name: 'rest',
    url,
    setFaults: async (faults) => void (await sendJson('POST', `${url}/_sim/faults`, faults)),
    clearFaults: async () => void (await sendJson('DELETE', `${url}/_sim/faults`)),
    contacts: () => restContacts(url),
    async stats() {
      const s = await getJson<CrmStats>(`${url}/_sim/stats`);
      const records = Object.entries(s.byStatus).reduce((n, [status, count]) => n + (status.startsWith('2') ? count : 0), 0);
      return { ...s, records, maxPerWindow: s.maxPerSecond };
    },
  };
}

function hubSpotCrm({ url, timeoutMs, say }: ChaosCrmOptions): ChaosCrm {
  const stats = () => getJson<HubSpotStats>(`${url}/_sim/stats`);
  const driver = new HubSpotFaultDriver({
    setFaults: async (faults: Partial<HubSpotFaults>) => void (await sendJson('POST', `${url}/_sim/faults`, faults)),
    arrivals: async () => {
      const { requests, records } = await stats();
      return { requests, records };
    },
    hangMs: timeoutMs * 2,
    onError: (err) => say(`HubSpot fault driver: ${String(err)}`),
  });
  return {
    name: 'hubspot',
    url,
    setFaults: (faults) => driver.start(faults),
    async clearFaults() {
      await driver.stop();
      await sendJson('DELETE', `${url}/_sim/faults`);
    },
    async contacts() {
      type Contact = { properties: Record<string, string | undefined> };
      const { contacts } = await getJson<{ contacts: Contact[] }>(`${url}/_sim/contacts`, CONTACTS_TIMEOUT_MS);
      return contacts.map(({ properties: p }) => ({ leadId: p.ao_lead_id ?? '', email: p.email ?? '', version: Number(p.ao_version ?? 0) }));
    },
    async stats() {
      const s = await stats();
      return {
        requests: s.requests,
        records: s.records,
        byStatus: s.byStatus,
        hung: driver.hung,
        rateLimited: s.rateLimited,
        inFlight: s.inFlight,
        maxPerSecond: s.maxPerSecond,
        maxPerWindow: s.maxPerWindow,
        maxArrivalsPerSecond: 0,
        maxGrantedPerSecond: 0,
        ungranted: 0,
      };
    },
  };
}
