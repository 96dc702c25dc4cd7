import { afterEach, describe, expect, it } from 'vitest';
import { startHubSpotSimulator, type HubSpotSimulator, type HubSpotSimulatorOptions } from '../../tooling/simulators/hubspot/simulator.js';

// The HubSpot simulator spoken to directly: what HubSpot accepts, refuses, and says about its limits.

let sim: HubSpotSimulator | undefined;

async function start(opts: HubSpotSimulatorOptions = {}): Promise<HubSpotSimulator> {
  sim = await startHubSpotSimulator({ port: 0, ...opts });
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function call(s: HubSpotSimulator, path: string, body: unknown, init: { method?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = init.token === undefined ? s.accessToken : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${s.url}${path}`, { method: init.method ?? 'POST', headers, body: JSON.stringify(body) });
}

const UPSERT = '/crm/v3/objects/contacts/batch/upsert';
const input = (leadId: string, email: string) => ({ idProperty: 'ao_lead_id', id: leadId, properties: { email } });

// Answers are checked structurally by the assertions.
async function json(res: Response): Promise<any> {
  return res.json();
}

describe('HubSpot simulator: batch upsert', () => {
  it('creates by ao_lead_id, then updates the same contact when its email changes', async () => {
    const s = await start();
    const created = await call(s, UPSERT, { inputs: [input('L1', 'ada@example.com')] });
    expect(created.status).toBe(200);
    const first = await json(created);
    expect(first).toMatchObject({ status: 'COMPLETE', results: [{ new: true, archived: false, properties: { email: 'ada@example.com', ao_lead_id: 'L1' } }] });

    const updated = await json(await call(s, UPSERT, { inputs: [input('L1', 'ada@new.example.com')] }));
    expect(updated.results[0]).toMatchObject({ id: first.results[0].id, new: false, properties: { email: 'ada@new.example.com' } });
    expect(s.contacts()).toHaveLength(1);
    expect(s.contactByLeadId('L1')?.properties.email).toBe('ada@new.example.com');
  });

  it('refuses a missing or wrong token with 401 INVALID_AUTHENTICATION', async () => {
    const s = await start();
    for (const token of [null, 'pat-wrong']) {
      const res = await call(s, UPSERT, { inputs: [] }, { token });
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    }
  });

  it('refuses more than 100 inputs, duplicate ids, an idProperty without unique values and non-string values with 400 VALIDATION_ERROR', async () => {
    const s = await start();
    const many = Array.from({ length: 101 }, (_, i) => input(`L${i}`, `l${i}@example.com`));
    const bodies = [
      { inputs: many },
      { inputs: [input('L1', 'a@example.com'), input('L1', 'b@example.com')] },
      { inputs: [{ idProperty: 'firstname', id: 'Ada', properties: {} }] },
      { inputs: [{ idProperty: 'ao_lead_id', id: 'L1', properties: { ao_score: 10 } }] },
      { inputs: [{ idProperty: 'ao_lead_id', id: 'L1', properties: { no_such_property: 'x' } }] },
    ];
    for (const body of bodies) {
      const res = await call(s, UPSERT, body);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    }
    expect(s.contacts()).toEqual([]);
    expect((await call(s, UPSERT, { inputs: many.slice(0, 100) })).status).toBe(200);
    expect(s.stats()).toMatchObject({ contacts: 100, records: 100 });
  });

  it('refuses a whole batch with 409 CONFLICT naming the contact that holds an email', async () => {
    const s = await start();
    await call(s, UPSERT, { inputs: [input('L1', 'ada@example.com')] });
    const holder = s.contactByLeadId('L1')!;
    const res = await call(s, UPSERT, { inputs: [input('L2', 'bob@example.com'), input('L3', 'ADA@example.com')] });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ category: 'CONFLICT', message: `Contact already exists. Existing ID: ${holder.id}` });
    expect(s.contacts()).toHaveLength(1);
    // Two contacts may swap emails in one batch: each holds the new one only after the other let it go.
    await call(s, UPSERT, { inputs: [input('L2', 'bob@example.com')] });
    const swap = await call(s, UPSERT, { inputs: [input('L1', 'bob@example.com'), input('L2', 'ada@example.com')] });
    expect(swap.status).toBe(200);
  });
});

describe('HubSpot simulator: limits', () => {
  it('counts requests in the rolling window, shows it in headers, and answers 429 TEN_SECONDLY_ROLLING over it', async () => {
    const s = await start({ limits: { perWindow: 3, windowMs: 400, daily: 1000 } });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call(s, UPSERT, { inputs: [input(`L${i}`, `l${i}@example.com`), input(`M${i}`, `m${i}@example.com`)] });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('3');
      expect(res.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('400');
      remaining.push(res.headers.get('x-hubspot-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await call(s, UPSERT, { inputs: [input('X', 'x@example.com')] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('997');
    expect(await json(refused)).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' });
    expect(s.stats()).toMatchObject({ requests: 4, records: 6, rateLimited: 1, maxPerWindow: 3 });

    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await call(s, UPSERT, { inputs: [input('X', 'x@example.com')] })).status).toBe(200);
  });

  it('answers 429 DAILY once the daily cap is spent', async () => {
    const s = await start({ limits: { perWindow: 100, daily: 2 } });
    await call(s, UPSERT, { inputs: [] });
    const last = await call(s, UPSERT, { inputs: [] });
    expect(last.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
    const refused = await call(s, UPSERT, { inputs: [] });
    expect(refused.status).toBe(429);
    expect(await json(refused)).toMatchObject({ policyName: 'DAILY' });
  });
});

describe('HubSpot simulator: PATCH, GDPR delete and faults', () => {
  it('patches one contact by id and refuses an email another contact holds', async () => {
    const s = await start();
    await call(s, UPSERT, { inputs: [input('L1', 'ada@example.com'), input('L2', 'bob@example.com')] });
    const ada = s.contactByLeadId('L1')!;
    const patched = await call(s, `/crm/v3/objects/contacts/${ada.id}`, { properties: { firstname: 'Ada' } }, { method: 'PATCH' });
    expect(patched.status).toBe(200);
    expect(s.contact(ada.id)?.properties.firstname).toBe('Ada');
    const conflict = await call(s, `/crm/v3/objects/contacts/${ada.id}`, { properties: { email: 'bob@example.com' } }, { method: 'PATCH' });
    expect(conflict.status).toBe(409);
    expect((await call(s, '/crm/v3/objects/contacts/999999', { properties: {} }, { method: 'PATCH' })).status).toBe(404);
  });

  it('deletes by ao_lead_id (204), then answers 404 OBJECT_NOT_FOUND', async () => {
    const s = await start();
    await call(s, UPSERT, { inputs: [input('L1', 'ada@example.com')] });
    expect((await call(s, '/crm/v3/objects/contacts/gdpr-delete', { objectId: 'L1', idProperty: 'ao_lead_id' })).status).toBe(204);
    expect(s.contacts()).toEqual([]);
    const again = await call(s, '/crm/v3/objects/contacts/gdpr-delete', { objectId: 'L1', idProperty: 'ao_lead_id' });
    expect(again.status).toBe(404);
    expect(await json(again)).toMatchObject({ category: 'OBJECT_NOT_FOUND' });
  });

  it('fails the next N requests with 500, answers 503 while down, and delays by latencyMs', async () => {
    const s = await start();
    s.setFaults({ failNext: 2 });
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(500);
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(500);
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(200);
    s.setFaults({ down: true });
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(503);
    s.setFaults({ down: false, latencyMs: 150 });
    const began = Date.now();
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(200);
    expect(Date.now() - began).toBeGreaterThanOrEqual(140);
    expect(s.stats().byStatus).toMatchObject({ '500': 2, '503': 1, '200': 2 });
  });

  it('answers the next N requests 429 TEN_SECONDLY_ROLLING with a spent window, counted apart from the limit', async () => {
    const s = await start();
    s.setFaults({ rateLimitNext: 1 });
    const refused = await call(s, UPSERT, { inputs: [] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect(await json(refused)).toMatchObject({ category: 'RATE_LIMITS', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING' });
    expect((await call(s, UPSERT, { inputs: [] })).status).toBe(200);
    // The limit refused nothing, and the refused request took no slot of the window.
    expect(s.stats()).toMatchObject({ rateLimited: 0, maxPerWindow: 1, byStatus: { '429': 1, '200': 1 } });
  });

  it('shows the requests being handled, those held by latencyMs included', async () => {
    const s = await start();
    s.setFaults({ latencyMs: 300 });
    const pending = call(s, UPSERT, { inputs: [] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.stats().inFlight).toBe(1);
    await pending;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.stats().inFlight).toBe(0);
  });
});
