import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maxInSlidingWindow, startCrmSimulator } from '../../tooling/simulators/crm-simulator.js';
import type { CrmSimulator, CrmSimulatorOptions } from '../../tooling/simulators/crm-simulator.js';

let sim: CrmSimulator;
let keySeq = 0;

async function start(opts: CrmSimulatorOptions = {}): Promise<void> {
  await sim?.close();
  sim = await startCrmSimulator({ port: 0, ...opts });
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  await sim.close();
});

interface PutOptions {
  key?: string | null;
  body?: unknown;
  signal?: AbortSignal;
}

function put(externalId: string, version: number, lead: Record<string, unknown> = {}, opts: PutOptions = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = opts.key === undefined ? `key-${++keySeq}` : opts.key;
  if (key !== null) headers['idempotency-key'] = key;
  return fetch(`${sim.url}/contacts/${encodeURIComponent(externalId)}`, {
    method: 'PUT',
    headers,
    body: JSON.stringify(opts.body ?? { version, lead }),
    signal: opts.signal,
  });
}

// Responses are checked structurally by the assertions, so untyped JSON is fine here.
async function body(res: Response): Promise<any> {
  return res.json();
}

async function json(path: string, init?: RequestInit): Promise<any> {
  return body(await fetch(`${sim.url}${path}`, init));
}

function setFaults(faults: Record<string, unknown>) {
  return fetch(`${sim.url}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
}

describe('CRM simulator: upsert', () => {
  it('creates, updates, and ignores stale versions', async () => {
    const created = await put('lead-1', 1, { email: 'a@example.com' });
    expect(created.status).toBe(201);
    expect(await body(created)).toEqual({ externalId: 'lead-1', version: 1, created: true });

    const updated = await put('lead-1', 3, { email: 'b@example.com' });
    expect(updated.status).toBe(200);
    expect(await body(updated)).toEqual({ externalId: 'lead-1', version: 3, created: false });

    const stale = await put('lead-1', 2, { email: 'old@example.com' });
    expect(stale.status).toBe(200);
    expect(await body(stale)).toEqual({ externalId: 'lead-1', version: 3, created: false, stale: true });

    const same = await put('lead-1', 3, { email: 'again@example.com' });
    expect(await body(same)).toMatchObject({ version: 3, stale: true });

    const res = await fetch(`${sim.url}/contacts/lead-1`);
    expect(res.status).toBe(200);
    const contact = await body(res);
    expect(contact).toMatchObject({
      externalId: 'lead-1',
      version: 3,
      lead: { email: 'b@example.com' },
      creates: 1,
      writes: 2,
      staleWrites: 2,
      duplicateKeys: 0,
    });
    expect(contact.keys).toHaveLength(4);
    expect(typeof contact.createdAt).toBe('string');
    expect(typeof contact.updatedAt).toBe('string');
  });

  it('returns 404 for an unknown contact', async () => {
    const res = await fetch(`${sim.url}/contacts/nobody`);
    expect(res.status).toBe(404);
  });

  it('counts requests that reuse an idempotency key', async () => {
    await put('lead-2', 1, {}, { key: 'k1' });
    await put('lead-2', 1, {}, { key: 'k1' });
    await put('lead-2', 2, {}, { key: 'k1' });
    await put('lead-2', 3, {}, { key: 'k2' });

    expect(sim.contact('lead-2')).toMatchObject({ version: 3, duplicateKeys: 2, keys: ['k1', 'k1', 'k1', 'k2'] });
    const stats = await json('/_sim/stats');
    expect(stats).toMatchObject({ contacts: 1, creates: 1, writes: 3, duplicateKeys: 2, requests: 4 });
    expect(stats.byStatus).toEqual({ '200': 3, '201': 1 });
  });

  it('keeps only the last 50 keys but still detects older duplicates', async () => {
    for (let v = 1; v <= 60; v++) await put('lead-3', v, {}, { key: `k${v}` });
    await put('lead-3', 61, {}, { key: 'k1' });
    const contact = sim.contact('lead-3');
    expect(contact?.keys).toHaveLength(50);
    expect(contact?.keys.at(-1)).toBe('k1');
    expect(contact?.duplicateKeys).toBe(1);
  });

  it('rejects a missing Idempotency-Key and invalid bodies with 400', async () => {
    const noKey = await put('lead-4', 1, {}, { key: null });
    expect(noKey.status).toBe(400);
    expect((await body(noKey)).error.message).toMatch(/Idempotency-Key/);

    for (const invalid of [{ lead: {} }, { version: 0, lead: {} }, { version: 1, lead: [] }, { version: 1, lead: 'x' }]) {
      const res = await put('lead-4', 1, {}, { body: invalid });
      expect(res.status).toBe(400);
      const payload = await body(res);
      expect(payload.error.message).toBeTypeOf('string');
      expect(payload.error.issues.length).toBeGreaterThan(0);
    }

    const malformed = await fetch(`${sim.url}/contacts/lead-4`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'x' },
      body: '{not json',
    });
    expect(malformed.status).toBe(400);
    expect((await body(malformed)).error).toHaveProperty('message');
    expect(sim.contact('lead-4')).toBeUndefined();
  });
});

function del(externalId: string) {
  return fetch(`${sim.url}/contacts/${encodeURIComponent(externalId)}`, { method: 'DELETE' });
}

describe('CRM simulator: one contact per email', () => {
  it('refuses a create whose email another contact holds with a HubSpot-shaped 409, changing nothing', async () => {
    expect((await put('u-1', 1, { email: 'Ada@Example.com', n: 1 })).status).toBe(201);
    const before = await json('/_sim/stats');

    const conflict = await put('u-2', 1, { email: 'ada@example.COM' }, { key: 'u-2-k' });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toMatch(/application\/json/);
    const payload = await body(conflict);
    expect(payload).toEqual({
      status: 'error',
      message: 'Contact already exists. Existing ID: u-1',
      correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      category: 'CONFLICT',
    });
    expect(sim.contact('u-2')).toBeUndefined();
    expect(sim.contact('u-1')).toMatchObject({ version: 1, lead: { email: 'Ada@Example.com', n: 1 }, writes: 1 });
    const after = await json('/_sim/stats');
    expect(after).toMatchObject({ contacts: 1, writes: before.writes, conflicts: 1, maxPerSecond: 1 });
    expect(after.byStatus).toEqual({ '201': 1, '409': 1 });
  });

  it('refuses an update that takes another contact\'s email, leaving both as they were', async () => {
    await put('u-1', 1, { email: 'a@example.com' });
    await put('u-2', 1, { email: 'b@example.com' });
    expect((await put('u-2', 2, { email: 'a@example.com' })).status).toBe(409);
    expect(sim.contact('u-2')).toMatchObject({ version: 1, lead: { email: 'b@example.com' }, writes: 1, keys: [expect.any(String)] });
    expect(sim.contact('u-1')).toMatchObject({ version: 1, lead: { email: 'a@example.com' } });
    // The same version may be sent again once the email is free: nothing of the refused write stuck.
    expect((await put('u-2', 2, { email: 'c@example.com' })).status).toBe(200);
  });

  it('lets a contact keep its own email, and frees the old one when it changes', async () => {
    await put('u-1', 1, { email: 'a@example.com' });
    expect((await put('u-1', 2, { email: 'A@example.com', n: 2 })).status).toBe(200);
    expect((await put('u-1', 3, { email: 'new@example.com' })).status).toBe(200);
    expect((await put('u-2', 1, { email: 'a@example.com' })).status).toBe(201);
    expect((await put('u-3', 1, { email: 'new@example.com' })).status).toBe(409);
  });

  it('answers a stale write as before, even when its email is held by another contact', async () => {
    await put('u-1', 2, { email: 'a@example.com' });
    await put('u-2', 1, { email: 'b@example.com' });
    const stale = await put('u-1', 1, { email: 'b@example.com' });
    expect(stale.status).toBe(200);
    expect(await body(stale)).toMatchObject({ version: 2, stale: true });
  });

  it('does not constrain contacts without an email', async () => {
    expect((await put('u-1', 1, {})).status).toBe(201);
    expect((await put('u-2', 1, { email: '' })).status).toBe(201);
    expect((await put('u-3', 1, { email: 7 })).status).toBe(201);
  });
});

describe('CRM simulator: delete', () => {
  it('removes the contact with 204, frees its email, records the deletion; 404 when unknown', async () => {
    await put('d-1', 3, { email: 'a@example.com' });
    const res = await del('d-1');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(sim.contact('d-1')).toBeUndefined();
    expect((await del('d-1')).status).toBe(404);
    expect((await del('nobody')).status).toBe(404);

    expect((await put('d-2', 1, { email: 'a@example.com' })).status).toBe(201);
    const view = await json('/_sim/contacts');
    expect(view.contacts.map((c: { externalId: string }) => c.externalId)).toEqual(['d-2']);
    expect(view.deleted).toEqual([{ externalId: 'd-1', deletedAt: expect.any(String) }]);
    expect(sim.deleted().map((d) => d.externalId)).toEqual(['d-1']);
    expect(await json('/_sim/stats')).toMatchObject({ deleted: 1, contacts: 1 });
  });

  it('forgets the deleted contact\'s version: a later write creates it anew', async () => {
    await put('d-1', 5, { email: 'a@example.com' });
    await del('d-1');
    const again = await put('d-1', 1, { email: 'a@example.com' });
    expect(again.status).toBe(201);
    expect(sim.contact('d-1')).toMatchObject({ version: 1, creates: 1 });
  });

  it('passes deletes through the faults and the rate limit like writes', async () => {
    await put('d-1', 1);
    await setFaults({ failNext: 1 });
    expect((await del('d-1')).status).toBe(500);
    expect(sim.contact('d-1')).toBeDefined();
    await setFaults({ down: true });
    expect((await del('d-1')).status).toBe(503);
    await setFaults({ down: false });
    expect((await del('d-1')).status).toBe(204);

    await start({ rateLimitPerSecond: 1 });
    await put('d-2', 1);
    expect((await del('d-2')).status).toBe(429);
  });

  it('forgets deletions and claimed emails on reset', async () => {
    await put('d-1', 1, { email: 'a@example.com' });
    await put('d-2', 1, { email: 'b@example.com' });
    await del('d-2');
    await fetch(`${sim.url}/_sim/reset`, { method: 'POST' });
    expect(await json('/_sim/contacts')).toEqual({ contacts: [], deleted: [] });
    expect(await json('/_sim/stats')).toMatchObject({ conflicts: 0, deleted: 0 });
    expect((await put('d-3', 1, { email: 'a@example.com' })).status).toBe(201);
  });
});

describe('CRM simulator: faults', () => {
  it('sets, reads and clears faults over HTTP', async () => {
    const res = await setFaults({ errorRate: 0.5, retryAfterSeconds: 3 });
    expect(res.status).toBe(200);
    expect(await json('/_sim/faults')).toMatchObject({ errorRate: 0.5, retryAfterSeconds: 3, down: false });

    expect((await setFaults({ errorRate: 2 })).status).toBe(400);
    expect((await setFaults({ typo: 1 })).status).toBe(400);

    await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
    expect(await json('/_sim/faults')).toMatchObject({ errorRate: 0, retryAfterSeconds: 1 });
  });

  it('answers 500 for errorRate 1', async () => {
    await setFaults({ errorRate: 1 });
    const res = await put('f-1', 1);
    expect(res.status).toBe(500);
    expect(sim.contact('f-1')).toBeUndefined();
  });

  it('answers 429 with Retry-After for rate429', async () => {
    await setFaults({ rate429: 1, retryAfterSeconds: 7 });
    const res = await put('f-2', 1);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  it('answers 503 to every PUT while down, but not to inspection endpoints', async () => {
    await setFaults({ down: true });
    expect((await put('f-3', 1)).status).toBe(503);
    expect((await put('f-3', 1)).status).toBe(503);
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
    expect((await fetch(`${sim.url}/_sim/stats`)).status).toBe(200);
    await setFaults({ down: false });
    expect((await put('f-3', 1)).status).toBe(201);
  });

  it('fails exactly the next N PUTs with failNext and badRequestNext', async () => {
    await setFaults({ failNext: 2, badRequestNext: 1 });
    expect((await put('f-4', 1)).status).toBe(500);
    expect((await put('f-4', 1)).status).toBe(500);
    expect((await put('f-4', 1)).status).toBe(422);
    expect((await put('f-4', 1)).status).toBe(201);
    expect(await json('/_sim/faults')).toMatchObject({ failNext: 0, badRequestNext: 0 });
    expect((await json('/_sim/stats')).byStatus).toEqual({ '500': 2, '422': 1, '201': 1 });
  });

  it('adds latency', async () => {
    await setFaults({ latencyMs: 150 });
    const started = Date.now();
    expect((await put('f-5', 1)).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('holds hung PUTs until the client gives up, and close() releases them', async () => {
    await setFaults({ hangRate: 1 });
    await expect(put('f-6', 1, {}, { signal: AbortSignal.timeout(200) })).rejects.toThrow(/abort|timeout/i);

    // A hung request the client never abandons must not keep close() waiting.
    const pending = put('f-6', 1).then(
      () => 'answered',
      () => 'connection closed',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sim.stats().hung).toBe(2);
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await pending).toBe('connection closed');
    expect(sim.contact('f-6')).toBeUndefined();
  });

  it('accepts faults at start', async () => {
    await start({ faults: { failNext: 1 } });
    expect((await put('f-7', 1)).status).toBe(500);
    expect((await put('f-7', 1)).status).toBe(201);
  });
});

describe('CRM simulator: rate limit and stats', () => {
  it('answers 429 with Retry-After: 1 above the per-second limit', async () => {
    await start({ rateLimitPerSecond: 5 });
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => put(`r-${i}`, 1).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);

    const limited = await put('r-extra', 1);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');

    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect((await put('r-extra', 1)).status).toBe(201);
    const stats = await json('/_sim/stats');
    expect(stats.maxPerSecond).toBe(5);
    expect(stats.byStatus).toEqual({ '201': 6, '429': 4 });
  });

  it('counts the limit on arrival, before the simulated latency, and reports peak arrivals', async () => {
    // Latency with jitter reorders when requests finish; the limit must not see that jitter.
    await start({ rateLimitPerSecond: 3, faults: { latencyMs: 50, latencyJitterMs: 400 } });
    const first = await Promise.all(Array.from({ length: 3 }, (_, i) => put(`a-${i}`, 1).then((r) => r.status)));
    expect(first).toEqual([201, 201, 201]);
    // The three arrived at once; the fourth arrives within their second and is refused even
    // though it would finish well after the first three were answered.
    expect((await put('a-3', 1)).status).toBe(429);
    const stats = await json('/_sim/stats');
    expect(stats.maxArrivalsPerSecond).toBe(4);
    expect(stats.rateLimited).toBe(1);
  });

  it('measures the senders\' rate from the grant time each request carries, not from its arrival', async () => {
    const granted = (at: number, n: number) =>
      fetch(`${sim.url}/contacts/g-${n}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'idempotency-key': `g-${n}`, 'x-rate-limit-granted-at': String(at) },
        body: JSON.stringify({ version: 1, lead: {} }),
      });
    // Sent 500 ms apart, two by two, but arriving all at once (as after a stall).
    await Promise.all([0, 0, 500, 500, 1000, 1000, 1500].map((offset, n) => granted(1_000_000 + offset, n)));
    await put('no-grant', 1);
    const stats = await json('/_sim/stats');
    expect(stats.maxGrantedPerSecond).toBe(4);
    expect(stats.maxArrivalsPerSecond).toBe(8);
    expect(stats.ungranted).toBe(1);
  });

  it('sliding-window maximum: half-open windows, any order', () => {
    expect(maxInSlidingWindow([], 1000)).toBe(0);
    expect(maxInSlidingWindow([2000, 0, 999, 1000, 1500], 1000)).toBe(3);
    expect(maxInSlidingWindow([0, 999, 1000, 1999], 1000)).toBe(2);
    expect(maxInSlidingWindow([0, 1000, 2000], 1000)).toBe(1);
  });

  it('tracks peak concurrency', async () => {
    await setFaults({ latencyMs: 300 });
    await Promise.all(Array.from({ length: 4 }, (_, i) => put(`c-${i}`, 1)));
    expect((await json('/_sim/stats')).maxConcurrent).toBe(4);
  });

  it('lists contacts and resets everything', async () => {
    await put('s-1', 1, { n: 1 });
    await put('s-2', 1, { n: 2 });
    await setFaults({ errorRate: 1 });
    expect((await json('/_sim/contacts')).contacts.map((c: { externalId: string }) => c.externalId)).toEqual([
      's-1',
      's-2',
    ]);

    expect((await fetch(`${sim.url}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    expect(await json('/_sim/contacts')).toEqual({ contacts: [], deleted: [] });
    expect(await json('/_sim/stats')).toMatchObject({ requests: 0, byStatus: {}, contacts: 0, writes: 0 });
    expect(await json('/_sim/faults')).toMatchObject({ errorRate: 0 });
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
  });
});
