import { describe, expect, it } from 'vitest';
import { batchedCrm } from '../../src/activities/crm/batcher.js';
import type { CrmConnector, CrmRecord, CrmRecordOutcome } from '../../src/activities/crm/connector.js';
import { createRequestGate } from '../../src/activities/crm/rate-limit.js';
import type { CrmUpsert } from '../../src/activities/crm/rest.js';

/** A connector that records each call and answers when the test says. */
function fakeConnector(maxBatch: number, answer: (records: CrmRecord[]) => CrmRecordOutcome[] | Error = okAll) {
  const calls: Array<{ records: CrmRecord[]; done: () => void }> = [];
  let auto = true;
  const connector: CrmConnector = {
    name: 'hubspot',
    maxBatch,
    upsert: (records) =>
      new Promise((resolve, reject) => {
        const done = () => {
          const result = answer(records);
          if (result instanceof Error) reject(result);
          else resolve(result);
        };
        calls.push({ records, done });
        if (auto) done();
      }),
    erase: async () => ({ deleted: true }),
  };
  return {
    connector,
    calls,
    hold() {
      auto = false;
    },
  };
}

function okAll(records: CrmRecord[]): CrmRecordOutcome[] {
  return records.map(() => ({ ok: true, created: true, stale: false }));
}

function upsert(leadId: string, version = 1): CrmUpsert {
  return { externalId: leadId, version, lead: { id: leadId, email: `${leadId}@example.com` } as CrmUpsert['lead'], idempotencyKey: `${leadId}:${version}` };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('the CRM batcher', () => {
  it('sends the writes of one moment as one request, and each activity gets its own outcome', async () => {
    const fake = fakeConnector(100, (records) =>
      records.map((r) => (r.leadId === 'bad' ? { ok: false, failure: new Error('CrmConflict: bad') } : { ok: true, created: r.leadId === 'a', stale: false })),
    );
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 20, maxInFlight: 4 });
    const results = await Promise.allSettled(['a', 'b', 'bad', 'c'].map((id) => crm.upsertContact(upsert(id, 3))));
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.records.map((r) => r.leadId)).toEqual(['a', 'b', 'bad', 'c']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { created: true, stale: false, version: 3 } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { created: false, stale: false, version: 3 } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { message: 'CrmConflict: bad' } });
    expect(crm.stats()).toEqual({ requests: 1, records: 4 });
  });

  it('sends a full batch at once and the rest after the wait', async () => {
    const fake = fakeConnector(3);
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 200, maxInFlight: 4 });
    const started = Date.now();
    const all = ['a', 'b', 'c', 'd'].map((id) => crm.upsertContact(upsert(id)));
    await all[2];
    expect(Date.now() - started, 'the full batch (capped at the connector\'s 3) did not wait').toBeLessThan(150);
    expect(fake.calls.map((c) => c.records.length)).toEqual([3]);
    await all[3];
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(fake.calls.map((c) => c.records.length)).toEqual([3, 1]);
  });

  it('never puts two records of one lead in a request, and sends a lead\'s next record only after its older one returned', async () => {
    const fake = fakeConnector(100);
    fake.hold();
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 5, maxInFlight: 4 });
    const v1 = crm.upsertContact(upsert('a', 1));
    const b = crm.upsertContact(upsert('b', 1));
    const v2 = crm.upsertContact(upsert('a', 2));
    await tick(30);
    expect(fake.calls.map((c) => c.records.map((r) => `${r.leadId}v${r.version}`))).toEqual([['av1', 'bv1']]);
    await tick(30);
    expect(fake.calls, 'a v2 waits while a v1 is out, though a request slot is free').toHaveLength(1);
    fake.calls[0]!.done();
    await Promise.all([v1, b]);
    await tick(30);
    expect(fake.calls.map((c) => c.records.map((r) => `${r.leadId}v${r.version}`))).toEqual([['av1', 'bv1'], ['av2']]);
    fake.calls[1]!.done();
    await expect(v2).resolves.toMatchObject({ version: 2 });
  });

  it('piles writes into full batches while the in-flight cap is reached', async () => {
    const fake = fakeConnector(100);
    fake.hold();
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 1, maxInFlight: 1 });
    const first = crm.upsertContact(upsert('first'));
    await tick(10);
    const rest = Array.from({ length: 150 }, (_, i) => crm.upsertContact(upsert(`l${i}`)));
    await tick(10);
    expect(fake.calls).toHaveLength(1);
    fake.calls[0]!.done();
    await first;
    await tick(10);
    expect(fake.calls.map((c) => c.records.length)).toEqual([1, 100]);
    fake.calls[1]!.done();
    await tick(10);
    fake.calls[2]!.done();
    await Promise.all(rest);
    expect(fake.calls.map((c) => c.records.length)).toEqual([1, 100, 50]);
  });

  it('fails every record of a request that failed as a whole', async () => {
    const fake = fakeConnector(100, () => new Error('CrmUnavailable: 503'));
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 5, maxInFlight: 2 });
    const results = await Promise.allSettled(['a', 'b'].map((id) => crm.upsertContact(upsert(id))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(fake.calls).toHaveLength(1);
  });

  it('drops a cancelled activity\'s record before it is sent', async () => {
    const fake = fakeConnector(100);
    const crm = batchedCrm(fake.connector, { maxBatch: 100, maxWaitMs: 30, maxInFlight: 2 });
    const controller = new AbortController();
    const cancelled = crm.upsertContact(upsert('gone'), controller.signal);
    const kept = crm.upsertContact(upsert('kept'));
    controller.abort(new Error('activity cancelled'));
    await expect(cancelled).rejects.toThrow('activity cancelled');
    await kept;
    expect(fake.calls.map((c) => c.records.map((r) => r.leadId))).toEqual([['kept']]);
  });
});

describe('the CRM request gate', () => {
  it('holds every request after a 429 until the vendor\'s time, and after a spent daily cap', async () => {
    let now = 1_000;
    const slept: number[] = [];
    const pauses: string[] = [];
    const gate = createRequestGate({
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
      onPause: (_until, why) => pauses.push(why),
    });
    expect(await gate.acquire()).toBe(1_000);
    gate.observe({ pauseUntil: 3_000 });
    expect(await gate.acquire()).toBe(3_000);
    expect(slept).toEqual([2_000]);
    gate.observe({ dailyRemaining: 0 });
    expect(await gate.acquire()).toBe(3_000 + 3_600_000);
    gate.observe({ remaining: 0, windowMs: 10_000, max: 100 });
    expect(await gate.acquire(), 'a spent window waits for one request to leave it').toBe(3_603_000 + 100);
    gate.observe({ remaining: 40, windowMs: 10_000, max: 100, dailyRemaining: 1000 });
    expect(await gate.acquire()).toBe(3_603_100);
    expect(pauses).toHaveLength(3);
  });
});
