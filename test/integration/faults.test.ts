import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    RETRY_MAX_ATTEMPTS: '50',
    RETRY_INITIAL_INTERVAL_MS: '200',
    RETRY_MAX_INTERVAL_MS: '300',
    // Generous read budget: the history fallback must answer here even on a busy CI machine
    // (the 503 past the budget is tested in test/api/hardening.test.ts).
    READ_TIMEOUT_MS: '15000',
    HANDLER_TIMEOUT_MS: '30000',
  });
});
afterAll(async () => {
  await h?.close();
});

describe('when things fail around the orchestrator', () => {
  it('keeps accepting writes while no worker runs, answers reads from the events without a worker, and completes everything when a worker returns', { timeout: 180_000 }, async () => {
    await h.stopWorker();
    const email = uniqueEmail('offline');
    const created = await call(h.app, 'POST', '/api/leads', { email, company: 'Offline Inc' });
    expect(created.status).toBe(202);
    const put = await call(h.app, 'PUT', `/api/leads/${created.body.id}`, { email, company: 'Offline Inc', stage: 'contacted' });
    expect(put.status).toBe(202);
    const patch = await call(h.app, 'PATCH', `/api/leads/${created.body.id}`, { last_name: 'Later' });
    expect(patch.status).toBe(202);

    const started = Date.now();
    const read = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(read.status).toBe(200);
    // No worker is needed to read: the read model folds the three accepted changes.
    expect(read.headers['x-read-source']).toBe('events');
    expect(read.body).toMatchObject({ version: 3, stage: 'contacted', last_name: 'Later', crm: { status: 'pending' } });

    const task = await call(h.app, 'GET', `/api/tasks/${patch.body.task_id}`);
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({ status: 'queued', read_source: 'events', steps: [{ name: 'lead_process', status: 'pending' }, { name: 'crm_update', status: 'pending' }] });
    expect(h.crm.contact(created.body.id)).toBeUndefined();

    await h.startWorker();
    const done = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${patch.body.task_id}`);
      return res.body.status === 'completed' ? res.body : undefined;
    }, { what: 'the queued change to complete after the worker returned', timeoutMs: 90_000 });
    expect(done).toMatchObject({ version: 3, read_source: 'events' });
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['completed', 'completed']);
    const contact = h.crm.contact(created.body.id);
    expect(contact).toMatchObject({ version: 3, creates: 1 });
    expect(contact?.lead).toMatchObject({ stage: 'contacted', last_name: 'Later' });
    expect(h.smtp.messages().filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('shows attempts and the last error while the CRM fails, then completes when it recovers', async () => {
    await h.startWorker();
    h.crm.setFaults({ down: true });
    try {
      const email = uniqueEmail('crmdown');
      const created = await call(h.app, 'POST', '/api/leads', { email });
      const retrying = await eventually(async () => {
        const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
        return res.body.status === 'retrying' && res.body.attempts >= 3 ? res.body : undefined;
      }, { what: 'the task to report retries' });
      expect(retrying.last_error).toMatch(/503/);
      const step = retrying.steps.find((s: { name: string }) => s.name === 'crm_update');
      expect(step).toMatchObject({ status: 'running' });
      expect(step.attempts).toBeGreaterThanOrEqual(3);
      // The welcome email does not wait for the CRM.
      await eventually(async () => (h.smtp.messages().some((m) => m.to.includes(email)) ? true : undefined), {
        what: 'the welcome email while the CRM is down',
      });

      h.crm.clearFaults();
      const done = await eventually(async () => {
        const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
        return res.body.status === 'completed' ? res.body : undefined;
      }, { what: 'the task to complete after the CRM recovered' });
      expect(done.steps.find((s: { name: string }) => s.name === 'crm_update').attempts).toBeGreaterThanOrEqual(3);
      expect(h.crm.contact(created.body.id)).toMatchObject({ version: 1, creates: 1 });

      const history = await call(h.app, 'GET', `/api/leads/${created.body.id}/history`);
      const retry = history.body.events.find((e: { kind: string }) => e.kind === 'retry');
      expect(retry).toMatchObject({ step: 'crm_update' });
      expect(retry.attempt).toBeGreaterThanOrEqual(3);
    } finally {
      h.crm.clearFaults();
    }
  });

  it('honours a 429 Retry-After from the CRM', async () => {
    await h.startWorker();
    h.crm.setFaults({ rate429: 1, retryAfterSeconds: 1 });
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('throttled') });
    await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
      return res.body.status === 'retrying' ? res.body : undefined;
    }, { what: 'a retry after 429' });
    const firstRetryAt = Date.now();
    h.crm.clearFaults();
    await eventually(async () => (h.crm.contact(created.body.id) ? true : undefined), { what: 'the CRM write' });
    // The policy's own backoff here is 200-300 ms; only Retry-After explains a longer wait.
    expect(Date.now() - firstRetryAt).toBeGreaterThan(300);
  });

  it('marks a task failed when the CRM rejects the lead permanently, without retrying', async () => {
    await h.startWorker();
    h.crm.setFaults({ badRequestNext: 1 });
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('rejected') });
    const failed = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
      return res.body.status === 'failed' ? res.body : undefined;
    }, { what: 'the task to fail' });
    expect(failed.last_error).toMatch(/CrmRejected/);
    expect(failed.steps.find((s: { name: string }) => s.name === 'crm_update')).toMatchObject({ status: 'failed', attempts: 1 });
    // A refusal is a dead letter: the repair timer leaves it (test/integration/dead-letters.test.ts);
    // a re-drive writes the lead once the CRM accepts it.
    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.body.crm).toMatchObject({ status: 'failed', permanent: true });
    expect((await call(h.app, 'POST', `/api/leads/${created.body.id}/retry`)).status).toBe(202);
    await eventually(async () => (h.crm.contact(created.body.id)?.version === 1 ? true : undefined), {
      what: 'the re-drive to reach the CRM',
    });
  });
});
