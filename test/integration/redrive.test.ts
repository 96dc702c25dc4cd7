import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Failed work of leads and re-driving it (#10 item 3), on the real dev server with the CRM
// simulator failing and recovering through its HTTP fault controls. The repair timer is the
// production default (60 s): a lead synced well before it was re-driven, not repaired by it.

const RESYNC_MS = 60_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    RETRY_MAX_ATTEMPTS: '4',
    RETRY_INITIAL_INTERVAL_MS: '500',
    RETRY_MAX_INTERVAL_MS: '1000',
    CRM_RESYNC_INTERVAL_MS: String(RESYNC_MS),
  });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

async function crmFaults(faults: Record<string, unknown> | null): Promise<void> {
  const res = await fetch(`${h.crm.url}/_sim/faults`, {
    method: faults ? 'POST' : 'DELETE',
    headers: faults ? { 'content-type': 'application/json' } : {},
    body: faults ? JSON.stringify(faults) : undefined,
  });
  expect(res.status).toBe(200);
}

type FailedItem = { lead: { id: string; crm: { status: string } }; state: string; retrying: { activity: string; attempt: number; last_failure: string | null } | null };

async function failedList(query = ''): Promise<FailedItem[]> {
  const res = await call(h.app, 'GET', `/api/leads/failed?limit=100${query}`);
  expect(res.status).toBe(200);
  return res.body.items;
}

const listed = (id: string, query = '') => async () => (await failedList(query)).find((item) => item.lead.id === id);

async function createWhileDown(fields: Record<string, unknown> = {}): Promise<string> {
  const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('redrive'), ...fields });
  expect(created.status).toBe(202);
  return created.body.id;
}

describe('re-driving one lead', () => {
  it('lists a lead whose CRM sync failed, shows its repair retrying, and syncs it at once when re-driven after the CRM recovers', { timeout: 120_000 }, async () => {
    await crmFaults({ down: true });
    const id = await createWhileDown();
    const failed = await eventually(listed(id, '&status=failed'), { what: 'the lead in the failed list', timeoutMs: 30_000 });
    expect(failed).toMatchObject({ state: 'failed', retrying: null, lead: { crm: { status: 'failed' } } });

    // Re-driven while the CRM is still down: the repair runs now, and its retries show.
    const early = await call(h.app, 'POST', `/api/leads/${id}/retry`);
    expect(early.status).toBe(202);
    expect(early.body).toEqual({ id, status: 'redriving', via: 'update', crm: 'failed', welcome: 'sent' });
    const retrying = await eventually(listed(id, '&status=retrying'), { what: 'the repair retrying', timeoutMs: 15_000 });
    expect(retrying.retrying).toMatchObject({ activity: 'syncLeadToCrm' });
    expect(retrying.retrying!.attempt).toBeGreaterThanOrEqual(2);
    expect(retrying.retrying!.last_failure).toMatch(/503/);
    await eventually(listed(id, '&status=failed'), { what: 'the repair to fail again', timeoutMs: 15_000 });
    expect(h.crm.contact(id)).toBeUndefined();

    await crmFaults(null);
    const started = Date.now();
    const redriven = await call(h.app, 'POST', `/api/leads/${id}/retry`);
    expect(redriven.status).toBe(202);
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'the CRM to hold the lead', timeoutMs: 20_000 });
    // Well before the 60 s repair timer (started about 3 s before the re-drive at the latest).
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(h.crm.contact(id)).toMatchObject({ version: 1, creates: 1 });
    await eventually(async () => ((await failedList()).some((item) => item.lead.id === id) ? undefined : true), {
      what: 'the lead to leave the failed list',
      timeoutMs: 15_000,
    });
    const lead = await call(h.app, 'GET', `/api/leads/${id}`);
    expect(lead.body.crm).toMatchObject({ status: 'synced', synced_version: 1 });

    // Nothing left to re-drive: 409, and the CRM sees no write.
    const again = await call(h.app, 'POST', `/api/leads/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('nothing_to_retry');
    expect(h.crm.contact(id)?.writes).toBe(1);
  });

  it('answers 404 for an unknown lead or job, 400 for a malformed id or status, 405 for other methods', async () => {
    const unknown = await call(h.app, 'POST', '/api/leads/aaaaaaaaaaaaaaaaaaaa/retry');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('lead_not_found');
    expect((await call(h.app, 'POST', '/api/leads/nope/retry')).status).toBe(400);
    expect((await call(h.app, 'GET', '/api/leads/failed?status=stuck')).status).toBe(400);
    expect((await call(h.app, 'GET', '/api/redrive-jobs/redrive-aaaaaaaaaaaaaaaaaaaa')).status).toBe(404);
    // Static paths beside /api/leads/:id: another method is a 405 naming the one served, not a bad lead id.
    const put = await call(h.app, 'PUT', '/api/leads/failed', { email: 'a@b.example' });
    expect([put.status, put.headers.allow]).toEqual([405, 'GET']);
    const get = await call(h.app, 'GET', '/api/leads/retry');
    expect([get.status, get.headers.allow]).toEqual([405, 'POST']);
  });
});

describe('re-driving by filter', () => {
  it('re-drives every failed lead a filter matches in one batch operation, once per Idempotency-Key, without duplicate CRM writes', { timeout: 150_000 }, async () => {
    await crmFaults({ down: true });
    const ids = [await createWhileDown({ stage: 'contacted' }), await createWhileDown({ stage: 'contacted' }), await createWhileDown({ stage: 'contacted' })];
    const other = await createWhileDown({ stage: 'qualified' });
    await eventually(async () => {
      const items = await failedList('&stage=contacted');
      return ids.every((id) => items.some((item) => item.lead.id === id)) ? true : undefined;
    }, { what: 'the three leads in the failed list', timeoutMs: 30_000 });
    await eventually(listed(other), { what: 'the other lead in the failed list', timeoutMs: 30_000 });
    await crmFaults(null);

    const started = Date.now();
    const body = { filter: { stage: 'contacted' } };
    const first = await call(h.app, 'POST', '/api/leads/retry', body, { 'idempotency-key': 'redrive-contacted-1' });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ matched: 3, deduplicated: false });
    expect(first.headers.location).toBe(`/api/redrive-jobs/${first.body.job_id}`);
    const repeated = await call(h.app, 'POST', '/api/leads/retry', body, { 'idempotency-key': 'redrive-contacted-1' });
    expect(repeated.status).toBe(202);
    expect(repeated.body).toMatchObject({ job_id: first.body.job_id, deduplicated: true });

    const job = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/redrive-jobs/${first.body.job_id}`);
      return res.body.state === 'completed' ? res.body : undefined;
    }, { what: 'the batch operation to complete', timeoutMs: 30_000 });
    expect(job).toMatchObject({ total: 3, completed: 3, failed: 0 });
    await eventually(async () => (ids.every((id) => h.crm.contact(id)) ? true : undefined), { what: 'the CRM to hold the three leads', timeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(20_000);
    // The filter held: the other lead waits for its own repair.
    expect(h.crm.contact(other)).toBeUndefined();
    await eventually(async () => {
      const items = await failedList('&stage=contacted');
      return items.some((item) => ids.includes(item.lead.id)) ? undefined : true;
    }, { what: 'the three leads to leave the failed list', timeoutMs: 15_000 });

    // A new bulk re-drive of the same filter finds nothing to do and writes nothing.
    const writes = h.crm.stats().writes;
    const second = await call(h.app, 'POST', '/api/leads/retry', body, { 'idempotency-key': 'redrive-contacted-2' });
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ matched: 0, deduplicated: false });
    expect(second.body.job_id).not.toBe(first.body.job_id);
    await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/redrive-jobs/${second.body.job_id}`);
      return res.body.state === 'completed' ? res.body : undefined;
    }, { what: 'the second batch operation to complete', timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.crm.stats().writes).toBe(writes);
    for (const id of ids) expect(h.crm.contact(id)).toMatchObject({ version: 1, writes: 1, creates: 1 });

    // The leads outside the filter are re-driven by their own filter.
    const rest = await call(h.app, 'POST', '/api/leads/retry', { filter: { stage: 'qualified' } });
    expect(rest.status).toBe(202);
    expect(rest.body.matched).toBe(1);
    await eventually(async () => (h.crm.contact(other) ? true : undefined), { what: 'the other lead in the CRM', timeoutMs: 30_000 });
  });
});
