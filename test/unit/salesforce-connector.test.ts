import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CrmRecord, CrmRecordOutcome, CrmRequestGate, VendorLimits } from '../../src/activities/crm/connector.js';
import { ALLOWANCE_PAUSE_MS, createSalesforceConnector, type SalesforceConnectorOptions } from '../../src/activities/crm/salesforce.js';
import { startSalesforceSimulator, type SalesforceSimulator, type SalesforceSimulatorOptions } from '../../tooling/simulators/salesforce/salesforce-simulator.js';

// The Salesforce connector against the simulator: tokens, batches, and which answers become which outcomes.

let sim: SalesforceSimulator;
let gate: ReturnType<typeof recordingGate>;

function recordingGate() {
  const observed: VendorLimits[] = [];
  let acquired = 0;
  const g: CrmRequestGate = {
    acquire: async () => {
      acquired += 1;
      return Date.now();
    },
    observe: (limits) => observed.push(limits),
  };
  return { gate: g, observed, acquired: () => acquired };
}

async function start(opts: SalesforceSimulatorOptions = {}): Promise<void> {
  await sim?.close();
  sim = await startSalesforceSimulator({ port: 0, ...opts });
  gate = recordingGate();
}

function connector(overrides: Partial<SalesforceConnectorOptions> = {}) {
  return createSalesforceConnector({ instanceUrl: sim.url, clientId: 'sim-client-id', clientSecret: 'sim-client-secret', timeoutMs: 2_000, gate: gate.gate, ...overrides });
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  await sim.close();
});

function record(leadId: string, lead: Partial<CrmRecord['lead']> = {}, version = 1): CrmRecord {
  return {
    leadId,
    version,
    lead: {
      id: leadId,
      version,
      email: `${leadId}@example.com`,
      first_name: 'Ada',
      last_name: 'Lovelace',
      company: 'Analytical Engines',
      stage: 'new',
      score: 10,
      created_at: '2026-12-07T00:00:00.000Z',
      updated_at: '2026-12-07T00:00:00.000Z',
      ...lead,
    } as CrmRecord['lead'],
  };
}

function failure(outcome: CrmRecordOutcome | undefined): ApplicationFailure {
  expect(outcome).toMatchObject({ ok: false });
  return (outcome as { failure: ApplicationFailure }).failure;
}

async function rejection(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('Salesforce connector: session', () => {
  it('fetches a token on first use and reuses it', async () => {
    const crm = connector();
    expect(sim.stats().tokenRequests).toBe(0);
    await crm.upsert([record('a')]);
    await crm.upsert([record('b')]);
    expect(sim.stats()).toMatchObject({ tokenRequests: 1, requests: 2 });
  });

  it('renews an expired token once and sends the request again', async () => {
    const crm = connector();
    await crm.upsert([record('a')]);
    sim.expireTokens();
    expect(await crm.upsert([record('b')])).toEqual([{ ok: true, created: true, stale: false, crmId: expect.stringMatching(/^00Q/) }]);
    expect(sim.stats()).toMatchObject({ tokenRequests: 2, byStatus: { '401': 1 } });
    expect(gate.acquired()).toBe(3); // the resend is a request of its own
  });

  it('shares one renewal among concurrent requests that found the token dead', async () => {
    const crm = connector();
    await crm.upsert([record('warm')]);
    sim.expireTokens();
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => crm.upsert([record(`c${i}`)])));
    expect(results.every(([outcome]) => outcome?.ok)).toBe(true);
    expect(sim.stats().tokenRequests).toBe(2);
  });

  it('fails transiently when Salesforce refuses the client credentials: the operator fixes them once for every lead', async () => {
    const refused = await rejection(connector({ clientSecret: 'wrong' }).upsert([record('a')]));
    expect(refused).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(refused.message).toContain('invalid_client');
    expect(gate.acquired()).toBe(0); // the token call does not pass the gate
  });
});

describe('Salesforce connector: upsert', () => {
  it('sends 200 records in one request and refuses 201 without sending', async () => {
    const crm = connector();
    expect(crm).toMatchObject({ name: 'salesforce', maxBatch: 200 });
    const outcomes = await crm.upsert(Array.from({ length: 200 }, (_, i) => record(`l${i}`)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(200);
    expect(sim.stats()).toMatchObject({ requests: 1, records: 200 });
    const tooMany = await rejection(crm.upsert(Array.from({ length: 201 }, (_, i) => record(`m${i}`))));
    expect(tooMany).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
    expect(sim.stats().requests).toBe(1);
  });

  it('maps the lead to Lead fields, filling LastName and Company when the lead has none', async () => {
    const crm = connector({ fields: { budget: 'Budget__c' } });
    await crm.upsert([
      record('full', { stage: 'unqualified', unsubscribed: true, phone: '+44 20 7946 0000', source: 'Web', custom: { budget: 5000, ignored: 'x' } }, 3),
      record('bare', { email: 'grace.hopper@example.com', first_name: undefined, last_name: undefined, company: undefined }),
    ]);
    expect(sim.recordByExternalId('full')).toMatchObject({
      Email: 'full@example.com',
      FirstName: 'Ada',
      LastName: 'Lovelace',
      Company: 'Analytical Engines',
      Phone: '+44 20 7946 0000',
      LeadSource: 'Web',
      Status: 'Closed - Not Converted',
      HasOptedOutOfEmail: true,
      AO_Version__c: 3,
      AO_Score__c: 10,
      Budget__c: 5000,
    });
    expect(sim.recordByExternalId('full')).not.toHaveProperty('ignored');
    const bare = sim.recordByExternalId('bare');
    expect(bare).toMatchObject({ LastName: 'grace.hopper', Company: '[not provided]', Status: 'Open - Not Contacted', HasOptedOutOfEmail: false });
    expect(bare).not.toHaveProperty('FirstName');
  });

  it('reports created, then updated, with the Salesforce id', async () => {
    const crm = connector();
    const [first] = await crm.upsert([record('a')]);
    const [second] = await crm.upsert([record('a', { stage: 'contacted' }, 2)]);
    expect(first).toMatchObject({ ok: true, created: true, stale: false });
    expect(second).toEqual({ ok: true, created: false, stale: false, crmId: (first as { crmId: string }).crmId });
    expect(sim.recordByExternalId('a')).toMatchObject({ Status: 'Working - Contacted', AO_Version__c: 2 });
  });

  it('maps per-record errors in a 200 to their failures while the other records land', async () => {
    const crm = connector();
    await crm.upsert([record('holder', { email: 'taken@example.com' })]);
    sim.setFaults({ lockRowNext: 1 });
    const outcomes = await crm.upsert([
      record('locked'),
      record('dup', { email: 'TAKEN@example.com' }),
      record('bad', { email: 'no-at-sign' }),
      record('nocompany', { company: undefined }),
      record('fine'),
    ]);
    expect(failure(outcomes[0])).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(failure(outcomes[1])).toMatchObject({ type: 'CrmConflict', nonRetryable: true });
    expect(failure(outcomes[1]).message).toContain('DUPLICATES_DETECTED');
    expect(failure(outcomes[2])).toMatchObject({ type: 'CrmRejected', nonRetryable: true, message: expect.stringContaining('INVALID_EMAIL_ADDRESS') });
    expect(outcomes.slice(3)).toEqual([expect.objectContaining({ ok: true }), expect.objectContaining({ ok: true })]);
    expect(sim.records().map((r) => r.AO_Lead_Id__c).sort()).toEqual(['fine', 'holder', 'nocompany']);
  });

  it('halves a batch Salesforce refuses as a whole, so the records without the fault land', async () => {
    const crm = connector({ fields: { nickname: 'Nickname' } }); // not a Lead field: INVALID_FIELD for the whole request
    const outcomes = await crm.upsert([record('a'), record('b', { custom: { nickname: 'x' } }), record('c'), record('d')]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(failure(outcomes[1])).toMatchObject({ type: 'CrmRejected', message: expect.stringContaining('INVALID_FIELD') });
  });
});

describe('Salesforce connector: limits and outages', () => {
  it('passes the gate before every API request and tells it the allowance left', async () => {
    await start({ dailyApiLimit: 1000 });
    const crm = connector();
    await crm.upsert([record('a')]);
    await crm.erase('a');
    expect(gate.acquired()).toBe(2);
    expect(gate.observed).toEqual([{ dailyRemaining: 999 }, { dailyRemaining: 998 }]);
  });

  it('turns a spent allowance into a transient CrmRateLimited and pauses the gate an hour', async () => {
    await start({ dailyApiLimit: 5 });
    sim.setApiUsage(5);
    const before = Date.now();
    const limited = await rejection(connector().upsert([record('a')]));
    expect(limited).toMatchObject({ type: 'CrmRateLimited', nonRetryable: false, nextRetryDelay: ALLOWANCE_PAUSE_MS });
    const pause = gate.observed.find((o) => o.pauseUntil !== undefined);
    expect(pause).toMatchObject({ dailyRemaining: 0 });
    expect(pause!.pauseUntil).toBeGreaterThanOrEqual(before + ALLOWANCE_PAUSE_MS);
  });

  it('keeps 503 and an unreachable org transient, and an unknown API version permanent', async () => {
    sim.setFaults({ failNext: 1 });
    expect(await rejection(connector().upsert([record('a')]))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(await rejection(connector({ apiVersion: '20.0' }).upsert([record('a')]))).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
    const url = sim.url;
    await sim.close();
    sim = await startSalesforceSimulator({ port: 0 });
    expect(await rejection(connector({ instanceUrl: url }).upsert([record('a')]))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
  });

  it('times out a slow org as transient', async () => {
    sim.setFaults({ latencyMs: 500 });
    const slow = await rejection(connector({ timeoutMs: 100 }).upsert([record('a')]));
    expect(slow).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false, message: expect.stringContaining('no answer within 100 ms') });
  });
});

describe('Salesforce connector: erase', () => {
  it('deletes the lead by external id, and answers deleted: false when it is gone', async () => {
    const crm = connector();
    await crm.upsert([record('a'), record('b')]);
    expect(await crm.erase('a')).toEqual({ deleted: true });
    expect(await crm.erase('a')).toEqual({ deleted: false });
    expect(sim.records().map((r) => r.AO_Lead_Id__c)).toEqual(['b']);
  });
});
