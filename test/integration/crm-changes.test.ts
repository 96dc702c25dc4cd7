import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Changes made in the CRM (its webhooks become `crm` changes, src/crm-inbound): applied in the
// order the CRM made them, in the lead's history, and never written back to the CRM.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const taskDone = (taskId: string) =>
  eventually(async () => {
    const { body } = await call(h.app, 'GET', `/api/tasks/${taskId}`);
    return body.status === 'completed' ? body : undefined;
  }, { what: `task ${taskId}` });

async function syncedLead(): Promise<{ id: string; email: string }> {
  const email = uniqueEmail('crmin');
  const created = await call(h.app, 'POST', '/api/leads', { email, company: 'Acme', stage: 'contacted' });
  await taskDone(created.body.task_id);
  return { id: created.body.id, email };
}

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

describe('a change made in the CRM', () => {
  it('is applied to the lead and shown in its history, and not written back to the CRM', async () => {
    const { id } = await syncedLead();
    const writesBefore = h.crm.stats().requests;
    const outcome = await h.app.leads.fromCrm([{ leadId: id, eventId: 'e1', occurredAt: at(0), fields: { stage: 'qualified', custom: { crm_owner: '77' } } }]);
    expect(outcome).toMatchObject({ accepted: 1, unknown_leads: 0, ignored: 0 });
    const task = await taskDone(outcome.task_ids[0]!);
    expect(task.steps.find((s: { name: string }) => s.name === 'crm_update')).toMatchObject({ status: 'skipped', note: 'the change came from the CRM' });
    const lead = (await call(h.app, 'GET', `/api/leads/${id}`)).body;
    expect(lead).toMatchObject({ stage: 'qualified', version: 2, custom: { crm_owner: '77' }, crm: { status: 'synced', synced_version: 2 } });
    expect(h.crm.stats().requests, 'no write to the CRM').toBe(writesBefore);
    const history = (await call(h.app, 'GET', `/api/leads/${id}/history`)).body;
    const events = (history.events ?? history) as Array<Record<string, unknown>>;
    expect(events).toContainEqual(expect.objectContaining({ kind: 'change', source: 'crm', task_id: outcome.task_ids[0] }));
  });

  it('makes no version when the lead shows it already (the CRM\'s echo), and is applied once per CRM event', async () => {
    const { id } = await syncedLead();
    const echo = await h.app.leads.fromCrm([{ leadId: id, eventId: 'echo', occurredAt: at(0), fields: { stage: 'contacted', company: 'Acme' } }]);
    const task = await taskDone(echo.task_ids[0]!);
    expect(task.version).toBe(1);
    expect(task.steps.map((s: { status: string }) => s.status)).toEqual(['skipped', 'skipped']);
    const again = await h.app.leads.fromCrm([{ leadId: id, eventId: 'e2', occurredAt: at(0), fields: { company: 'Acme Ltd' } }]);
    const retried = await h.app.leads.fromCrm([{ leadId: id, eventId: 'e2', occurredAt: at(0), fields: { company: 'Acme Ltd' } }]);
    expect(retried.task_ids).toEqual(again.task_ids);
    await taskDone(again.task_ids[0]!);
    const lead = (await call(h.app, 'GET', `/api/leads/${id}`)).body;
    expect(lead).toMatchObject({ company: 'Acme Ltd', version: 2 });
  });

  it('drops a CRM change older than the one the field shows (a delivery the CRM retried late)', async () => {
    const { id } = await syncedLead();
    const newer = await h.app.leads.fromCrm([{ leadId: id, eventId: 'new', occurredAt: at(0), fields: { stage: 'customer' } }]);
    await taskDone(newer.task_ids[0]!);
    const late = await h.app.leads.fromCrm([{ leadId: id, eventId: 'old', occurredAt: at(-60_000), fields: { stage: 'qualified', first_name: 'Ada' } }]);
    await taskDone(late.task_ids[0]!);
    const lead = (await call(h.app, 'GET', `/api/leads/${id}`)).body;
    expect(lead).toMatchObject({ stage: 'customer', first_name: 'Ada', version: 3 });
  });

  it('skips leads it does not have and fields a lead cannot take from the CRM', async () => {
    const { id, email } = await syncedLead();
    const outcome = await h.app.leads.fromCrm([
      { leadId: 'aaaaaaaaaaaaaaaaaaaa', eventId: 'x', occurredAt: at(0), fields: { stage: 'qualified' } },
      { leadId: id, eventId: 'y', occurredAt: at(0), fields: { email: 'taken@example.com', unsubscribed: false, stage: 'not-a-stage' } },
    ]);
    expect(outcome).toMatchObject({ accepted: 0, unknown_leads: 1, ignored: 1 });
    const lead = (await call(h.app, 'GET', `/api/leads/${id}`)).body;
    expect(lead).toMatchObject({ email, stage: 'contacted', version: 1 });
  });
});
