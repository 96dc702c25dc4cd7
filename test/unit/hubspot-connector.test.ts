import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmConnector, CrmRecordOutcome } from '../../src/activities/crm/connector.js';
import { createHubSpotConnector, limitsOf } from '../../src/activities/crm/hubspot.js';
import { startHubSpotSimulator, type HubSpotSimulator, type HubSpotSimulatorOptions } from '../../tooling/simulators/hubspot/simulator.js';
import { leadRecord, recordingGate } from './hubspot-fixtures.js';

// The HubSpot connector against the HubSpot simulator: outcomes per record, the gate, failures.

let sim: HubSpotSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(opts: HubSpotSimulatorOptions = {}, token?: string) {
  sim = await startHubSpotSimulator({ port: 0, ...opts });
  const gate = recordingGate();
  const connector: CrmConnector = createHubSpotConnector({ baseUrl: sim.url, accessToken: token ?? sim.accessToken, timeoutMs: 2_000, gate });
  return { sim, gate, connector };
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

function failed(outcome: CrmRecordOutcome | undefined): ApplicationFailure {
  expect(outcome?.ok).toBe(false);
  return (outcome as { failure: ApplicationFailure }).failure;
}

describe('HubSpot connector: upsert', () => {
  it('creates, then updates the same contact when the email changes (matched by ao_lead_id)', async () => {
    const { sim, connector } = await setup();
    const [created] = await connector.upsert([leadRecord('L1', 'ada@example.com', 1, { stage: 'qualified', phone: '+44 20 7946 0000' })]);
    expect(created).toMatchObject({ ok: true, created: true, stale: false });
    const contact = sim.contactByLeadId('L1')!;
    expect(contact.properties).toMatchObject({
      email: 'ada@example.com',
      firstname: 'Ada',
      phone: '+44 20 7946 0000',
      lifecyclestage: 'salesqualifiedlead',
      hs_lead_status: 'OPEN_DEAL',
      ao_version: '1',
      ao_score: '10',
    });
    expect(created).toMatchObject({ crmId: contact.id });

    const [updated] = await connector.upsert([leadRecord('L1', 'ada@new.example.com', 2)]);
    expect(updated).toEqual({ ok: true, created: false, stale: false, crmId: contact.id });
    expect(sim.contacts()).toHaveLength(1);
    // A field the lead lost is cleared on the contact too.
    expect(sim.contactByLeadId('L1')?.properties).toMatchObject({ email: 'ada@new.example.com', ao_version: '2' });
    expect(sim.contactByLeadId('L1')?.properties.phone).toBeUndefined();
  });

  it('sends a batch of 100 in one request, each outcome in its record order', async () => {
    const { sim, gate, connector } = await setup();
    const records = Array.from({ length: 100 }, (_, i) => leadRecord(`L${i}`, `l${i}@example.com`));
    const outcomes = await connector.upsert(records);
    expect(outcomes).toHaveLength(100);
    expect(outcomes.every((o) => o.ok && o.created)).toBe(true);
    expect(outcomes.map((o) => (o.ok ? o.crmId : undefined))).toEqual(records.map((r) => sim.contactByLeadId(r.leadId)?.id));
    expect(sim.stats()).toMatchObject({ requests: 1, records: 100 });
    expect(gate.acquired).toBe(1);
    expect(connector.maxBatch).toBe(100);
  });

  it('fails only the record whose email another contact holds (CrmConflict); the others land', async () => {
    const { sim, gate, connector } = await setup();
    await connector.upsert([leadRecord('OLD', 'taken@example.com')]);
    const holder = sim.contactByLeadId('OLD')!;
    const records = Array.from({ length: 10 }, (_, i) => leadRecord(`L${i}`, i === 6 ? 'taken@example.com' : `l${i}@example.com`));
    const outcomes = await connector.upsert(records);
    const conflict = failed(outcomes[6]);
    expect(conflict).toMatchObject({ type: 'CrmConflict', nonRetryable: true });
    expect(conflict.message).toContain(`Existing ID: ${holder.id}`);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(9);
    expect(sim.contacts()).toHaveLength(10);
    expect(sim.contactByLeadId('L6')).toBeUndefined();
    // Bisected, not one request per record: 1 refused + 2·log2(10) at most.
    expect(gate.acquired - 1).toBeLessThanOrEqual(1 + 2 * 4);
  });

  it('fails a record HubSpot refuses a value of with CrmRejected', async () => {
    const { connector } = await setup();
    const outcomes = await connector.upsert([leadRecord('L1', 'good@example.com'), leadRecord('L2', 'not-an-email')]);
    expect(outcomes[0]).toMatchObject({ ok: true });
    expect(failed(outcomes[1])).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
  });

  it('treats a property the portal lacks as a transient setup failure, not every record refused', async () => {
    sim = await startHubSpotSimulator({ port: 0 });
    const connector = createHubSpotConnector({ baseUrl: sim.url, accessToken: sim.accessToken, timeoutMs: 2_000, gate: recordingGate(), properties: { industry: 'industry' } });
    const failure = await failureOf(connector.upsert([leadRecord('L1', 'a@example.com'), leadRecord('L2', 'b@example.com')]));
    expect(failure).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(failure.message).toMatch(/define these contact properties.*industry/);
    expect(sim.stats().requests).toBe(1);
  });

  it('writes mapped custom fields to their HubSpot properties', async () => {
    sim = await startHubSpotSimulator({ port: 0, extraProperties: ['industry'] });
    const connector = createHubSpotConnector({ baseUrl: sim.url, accessToken: sim.accessToken, timeoutMs: 2_000, gate: recordingGate(), properties: { sector: 'industry' } });
    await connector.upsert([leadRecord('L1', 'a@example.com', 1, { custom: { sector: 'Energy', ignored: 1 } })]);
    expect(sim.contactByLeadId('L1')?.properties.industry).toBe('Energy');
  });
  it('keeps the results of a 207 and sends the records it left without one again, alone', async () => {
    // HubSpot's spec allows 207 (some inputs failed, with `errors`); the simulator refuses whole batches instead, so a stub answers here.
    const sent: string[][] = [];
    const stub: typeof fetch = async (_url, init) => {
      const inputs = (JSON.parse(String(init?.body)) as { inputs: { id: string }[] }).inputs.map((i) => i.id);
      sent.push(inputs);
      const now = new Date().toISOString();
      const results = inputs.filter((id) => id !== 'BAD').map((id, n) => ({ id: String(500 + n), new: true, archived: false, createdAt: now, updatedAt: now, properties: { ao_lead_id: id } }));
      const errors = inputs.includes('BAD') ? [{ status: 'error', category: 'VALIDATION_ERROR', message: 'Property values were not valid', context: {}, errors: [], links: {} }] : [];
      return Response.json({ status: 'COMPLETE', results, errors, numErrors: errors.length, startedAt: now, completedAt: now }, { status: errors.length > 0 ? 207 : 200 });
    };
    const connector = createHubSpotConnector({ accessToken: 't', timeoutMs: 1_000, gate: recordingGate(), fetch: stub });
    const outcomes = await connector.upsert([leadRecord('A', 'a@example.com'), leadRecord('BAD', 'bad@example.com'), leadRecord('C', 'c@example.com')]);
    expect(sent).toEqual([['A', 'BAD', 'C'], ['BAD']]);
    expect(outcomes[0]).toMatchObject({ ok: true, created: true });
    expect(failed(outcomes[1])).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
    expect(outcomes[2]).toMatchObject({ ok: true });
  });
});

describe('HubSpot connector: limits and failures', () => {
  it('tells the gate the X-HubSpot-RateLimit-* figures of every answer', async () => {
    const { gate, connector } = await setup({ limits: { perWindow: 5, windowMs: 1_000, daily: 50 } });
    await connector.upsert([leadRecord('L1', 'a@example.com')]);
    await connector.upsert([leadRecord('L2', 'b@example.com')]);
    expect(gate.observed).toEqual([
      { remaining: 4, max: 5, windowMs: 1_000, dailyRemaining: 49 },
      { remaining: 3, max: 5, windowMs: 1_000, dailyRemaining: 48 },
    ]);
  });

  it('throws CrmRateLimited on a 429 and pauses the gate for the window (rolling) or to the next hour (daily)', async () => {
    const { gate, connector } = await setup({ limits: { perWindow: 1, windowMs: 3_000, daily: 100 } });
    await connector.upsert([leadRecord('L1', 'a@example.com')]);
    const before = Date.now();
    const failure = await failureOf(connector.upsert([leadRecord('L2', 'b@example.com')]));
    expect(failure).toMatchObject({ type: 'CrmRateLimited', nonRetryable: false });
    expect(failure.nextRetryDelay).toBeGreaterThan(2_500);
    const pause = gate.observed.at(-1)!;
    expect(pause).toMatchObject({ remaining: 0, windowMs: 3_000 });
    expect(pause.pauseUntil! - before).toBeGreaterThanOrEqual(3_000);

    const now = Date.parse('2026-12-07T10:20:00Z');
    const daily = limitsOf({ status: 429, headers: new Headers({ 'x-hubspot-ratelimit-daily-remaining': '0' }), body: { policyName: 'DAILY' } }, now);
    expect(daily.pauseUntil).toBe(Date.parse('2026-12-07T11:00:00Z'));
  });

  it('throws transient CrmUnavailable for 5xx, an outage, a timeout and a refused token', async () => {
    const { sim, connector } = await setup();
    sim.setFaults({ failNext: 1 });
    expect(await failureOf(connector.upsert([leadRecord('L1', 'a@example.com')]))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    sim.setFaults({ down: true });
    expect(await failureOf(connector.upsert([leadRecord('L1', 'a@example.com')]))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    sim.setFaults({ down: false, latencyMs: 500 });
    const slow = createHubSpotConnector({ baseUrl: sim.url, accessToken: sim.accessToken, timeoutMs: 100, gate: recordingGate() });
    const timedOut = await failureOf(slow.upsert([leadRecord('L1', 'a@example.com')]));
    expect(timedOut.message).toMatch(/no answer within 100 ms/);
    sim.setFaults({ latencyMs: 0 });
    const revoked = createHubSpotConnector({ baseUrl: sim.url, accessToken: 'pat-revoked', timeoutMs: 2_000, gate: recordingGate() });
    const refused = await failureOf(revoked.upsert([leadRecord('L1', 'a@example.com')]));
    expect(refused).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(refused.message).toMatch(/^HubSpot answered 401: .*access token/);
  });

  it('treats an unreachable HubSpot as transient CrmUnavailable', async () => {
    const connector = createHubSpotConnector({ baseUrl: 'http://127.0.0.1:9', accessToken: 't', timeoutMs: 1_000, gate: recordingGate() });
    expect(await failureOf(connector.upsert([leadRecord('L1', 'a@example.com')]))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
  });
});

describe('HubSpot connector: erase', () => {
  it('GDPR-deletes the contact by ao_lead_id, and answers deleted: false when there is none', async () => {
    const { sim, gate, connector } = await setup();
    await connector.upsert([leadRecord('L1', 'a@example.com'), leadRecord('L2', 'b@example.com')]);
    expect(await connector.erase('L1')).toEqual({ deleted: true });
    expect(sim.contactByLeadId('L1')).toBeUndefined();
    expect(sim.contactByLeadId('L2')).toBeDefined();
    expect(await connector.erase('L1')).toEqual({ deleted: false });
    expect(gate.acquired).toBe(3);
    expect(gate.observed).toHaveLength(3);
  });
});
