import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { call, eventually, startHarness, startUnreachableApp, uniqueEmail, type Harness } from '../support/harness.js';

// Dead letters and the repair backoff (#22 item 4), on the real dev server with the CRM
// simulator and SMTP sink refusing through their fault switches. A permanent refusal (CRM
// 4xx, SMTP 5xx) waits for a re-drive or a new change; a transient failure repairs itself
// after RESYNC_MS, then twice that, and so on. A re-drive no worker answers is still a 202.

const RESYNC_MS = 500;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    // Two quick attempts per step: a failure is settled within a fraction of RESYNC_MS.
    RETRY_MAX_ATTEMPTS: '2',
    RETRY_INITIAL_INTERVAL_MS: '100',
    RETRY_MAX_INTERVAL_MS: '200',
    CRM_RESYNC_INTERVAL_MS: String(RESYNC_MS),
  });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rejected422 = () => h.crm.stats().byStatus['422'] ?? 0;
const mailsTo = (email: string) => h.smtp.messages().filter((m) => m.to.includes(email.toLowerCase()));

async function lead(id: string): Promise<{ version: number; crm: { status: string; synced_version: number; last_error?: string; permanent?: boolean } }> {
  const res = await call(h.app, 'GET', `/api/leads/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function leadWhere(id: string, what: string, check: (l: Awaited<ReturnType<typeof lead>>) => boolean) {
  return eventually(async () => {
    const l = await lead(id);
    return check(l) ? l : undefined;
  }, { what, timeoutMs: 30_000 });
}

/** The waits of the lead's repair timers so far, in milliseconds, from its history. */
async function repairTimers(id: string): Promise<number[]> {
  const history = await h.client.workflow.getHandle(leadWorkflowId(id)).fetchHistory();
  return (history.events ?? []).flatMap((e: temporal.api.history.v1.IHistoryEvent) => {
    const d = e.timerStartedEventAttributes?.startToFireTimeout;
    return d ? [Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6)] : [];
  });
}

describe('a permanent CRM refusal', () => {
  it('is a dead letter: the timer does not retry it, a re-drive does, and a new change writes its own version', { timeout: 120_000 }, async () => {
    h.crm.setFaults({ badRequestNext: 1000 });
    const before = rejected422();
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('refused') });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const failed = await leadWhere(id, 'the CRM refusal', (l) => l.crm.status === 'failed');
    expect(failed.crm).toMatchObject({ status: 'failed', synced_version: 0, permanent: true });
    expect(failed.crm.last_error).toMatch(/CrmRejected/);

    // Six repair intervals later the CRM has still seen one write of this lead, and no timer was armed.
    await sleep(6 * RESYNC_MS);
    expect(rejected422() - before).toBe(1);
    expect(await repairTimers(id)).toEqual([]);
    expect((await lead(id)).crm).toMatchObject({ status: 'failed', permanent: true });

    // The CRM accepts it now; still nothing writes it by itself.
    h.crm.clearFaults();
    await sleep(4 * RESYNC_MS);
    expect(h.crm.contact(id)).toBeUndefined();

    const redriven = await call(h.app, 'POST', `/api/leads/${id}/retry`);
    expect(redriven.status).toBe(202);
    expect(redriven.body).toEqual({ id, status: 'redriving', via: 'update', crm: 'failed', welcome: 'sent' });
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'the re-driven write', timeoutMs: 20_000 });
    const synced = await leadWhere(id, 'the lead synced', (l) => l.crm.status === 'synced');
    expect(synced.crm).toEqual({ status: 'synced', synced_version: 1 });
    expect((await call(h.app, 'POST', `/api/leads/${id}/retry`)).status).toBe(409);

    // Refused again at version 2; version 3, a new change, takes the normal path and is written.
    h.crm.setFaults({ badRequestNext: 1 });
    expect((await call(h.app, 'PATCH', `/api/leads/${id}`, { company: 'Refused Inc' })).status).toBe(202);
    await leadWhere(id, 'version 2 refused', (l) => l.version === 2 && l.crm.status === 'failed' && l.crm.permanent === true);
    expect((await call(h.app, 'PATCH', `/api/leads/${id}`, { company: 'Accepted Inc' })).status).toBe(202);
    const rewritten = await leadWhere(id, 'version 3 synced', (l) => l.crm.status === 'synced' && l.crm.synced_version === 3);
    expect(rewritten.crm.permanent).toBeUndefined();
    expect(h.crm.contact(id)).toMatchObject({ version: 3, writes: 2 });
  });
});

describe('a transient CRM failure', () => {
  it('repairs itself after RESYNC_MS, then after twice as long each time, and starts over after a success', { timeout: 120_000 }, async () => {
    h.crm.setFaults({ down: true });
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('outage') });
    const id = created.body.id as string;
    const failed = await leadWhere(id, 'the CRM outage', (l) => l.crm.status === 'failed');
    expect(failed.crm.permanent).toBeUndefined();
    expect(failed.crm.last_error).toMatch(/CrmUnavailable/);

    const timers = await eventually(async () => {
      const waits = await repairTimers(id);
      return waits.length >= 4 ? waits : undefined;
    }, { what: 'four repair timers', timeoutMs: 40_000 });
    expect(timers.slice(0, 4)).toEqual([RESYNC_MS, 2 * RESYNC_MS, 4 * RESYNC_MS, 8 * RESYNC_MS]);

    h.crm.clearFaults();
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'a repair to reach the CRM', timeoutMs: 30_000 });
    await leadWhere(id, 'the lead synced', (l) => l.crm.status === 'synced');

    // A new outage after the success waits RESYNC_MS again, not where the backoff had got to.
    const armed = (await repairTimers(id)).length;
    h.crm.setFaults({ down: true });
    expect((await call(h.app, 'PATCH', `/api/leads/${id}`, { company: 'Flaky Inc' })).status).toBe(202);
    const again = await eventually(async () => {
      const waits = await repairTimers(id);
      return waits.length > armed ? waits : undefined;
    }, { what: 'the repair timer after the new failure', timeoutMs: 30_000 });
    expect(again[armed]).toBe(RESYNC_MS);
    h.crm.clearFaults();
    await leadWhere(id, 'the lead synced at version 2', (l) => l.crm.status === 'synced' && l.crm.synced_version === 2);
  });
});

describe('a welcome email the mail server refuses (SMTP 5xx)', () => {
  it('is not sent again by the timer or by a new change, only by a re-drive', { timeout: 120_000 }, async () => {
    const rejectedBefore = h.smtp.stats().rejected;
    h.smtp.setFaults({ rejectRcptNext: 1 });
    const email = uniqueEmail('bounced');
    const created = await call(h.app, 'POST', '/api/leads', { email });
    const id = created.body.id as string;
    const task = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
      return res.body.status === 'failed' ? res.body : undefined;
    }, { what: 'the welcome to fail', timeoutMs: 30_000 });
    const welcome = task.steps.find((s: { name: string }) => s.name === 'email_send');
    expect(welcome).toMatchObject({ status: 'failed', attempts: 1 });
    expect(welcome.last_error).toMatch(/EmailRejected/);

    await sleep(6 * RESYNC_MS);
    expect(h.smtp.stats().rejected - rejectedBefore).toBe(1);
    expect(mailsTo(email)).toHaveLength(0);
    expect(await repairTimers(id)).toEqual([]);

    // A new change is written to the CRM and sends no welcome.
    expect((await call(h.app, 'PATCH', `/api/leads/${id}`, { company: 'Bounced Inc' })).status).toBe(202);
    await leadWhere(id, 'version 2 synced', (l) => l.crm.status === 'synced' && l.crm.synced_version === 2);
    await sleep(4 * RESYNC_MS);
    expect(mailsTo(email)).toHaveLength(0);
    expect(h.smtp.stats().rejected - rejectedBefore).toBe(1);

    const redriven = await call(h.app, 'POST', `/api/leads/${id}/retry`);
    expect(redriven.status).toBe(202);
    // The refusal had suppressed the address (reason rejected); the re-drive lifts that first and
    // tells the lead (a consent change, whose CRM write may be under way as the update answers).
    expect(redriven.body).toMatchObject({ via: 'update', welcome: 'failed' });
    await eventually(async () => (mailsTo(email).length > 0 ? true : undefined), { what: 'the re-driven welcome', timeoutMs: 20_000 });
    await sleep(4 * RESYNC_MS);
    expect(mailsTo(email)).toHaveLength(1);
  });
});

describe('re-driving a lead no worker answers for', () => {
  it('answers 202 from the signal when every worker is down, and the lead is re-driven once one runs', { timeout: 120_000 }, async () => {
    h.crm.setFaults({ badRequestNext: 1 });
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('offline-redrive') });
    const id = created.body.id as string;
    await leadWhere(id, 'the CRM refusal', (l) => l.crm.status === 'failed' && l.crm.permanent === true);
    h.crm.clearFaults();

    await h.stopWorker();
    try {
      const started = Date.now();
      const redriven = await call(h.app, 'POST', `/api/leads/${id}/retry`);
      expect(redriven.status).toBe(202);
      expect(redriven.body).toEqual({ id, status: 'redriving', via: 'signal', crm: null, welcome: null });
      expect(Date.now() - started).toBeLessThan(h.config.WRITE_TIMEOUT_MS + 1000);
      // Durable: the signal is in the lead's history before any worker has seen it.
      const history = await h.client.workflow.getHandle(leadWorkflowId(id)).fetchHistory();
      expect((history.events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'redrive')).toBe(true);
      expect(h.crm.contact(id)).toBeUndefined();
    } finally {
      await h.startWorker();
    }
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'the re-drive to reach the CRM', timeoutMs: 60_000 });
    await leadWhere(id, 'the lead synced', (l) => l.crm.status === 'synced' && l.crm.synced_version === 1);
    expect(h.crm.contact(id)).toMatchObject({ writes: 1 });
  });

  it('answers 503 with Retry-After when Temporal itself cannot take the re-drive', async () => {
    const unreachable = await startUnreachableApp(h.config);
    try {
      const res = await call(unreachable.app, 'POST', '/api/leads/aaaaaaaaaaaaaaaaaaaa/retry');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.body.error.code).toBe('temporal_unavailable');
    } finally {
      await unreachable.close();
    }
  });
});
