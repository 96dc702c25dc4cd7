import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  // A low threshold so a few dozen changes cross several runs.
  h = await startHarness({ CONTINUE_AS_NEW_AFTER_EVENTS: '100' });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

describe('a long-lived lead', () => {
  it('continues as new without losing changes, tasks, order or history', async () => {
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('long') });
    const receipts = [created.body];
    for (let i = 1; i <= 60; i++) {
      const res = await call(h.app, 'PATCH', `/api/leads/${created.body.id}`, { custom: { step: i } });
      expect(res.status).toBe(202);
      receipts.push(res.body);
      // Let some changes land one by one and others pile up, so both paths run.
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 150));
    }
    const last = receipts.at(-1)!;
    await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${last.task_id}`);
      return res.body.status === 'completed' ? true : undefined;
    }, { what: 'the last change to complete' });

    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.body).toMatchObject({ version: 61, custom: { step: 60 }, crm: { status: 'synced', synced_version: 61 } });
    expect(h.crm.contact(created.body.id)).toMatchObject({ version: 61, creates: 1 });
    expect(h.smtp.messages().filter((m) => m.messageId === `welcome.${created.body.id}@leads.example.com`)).toHaveLength(1);

    // Tasks from the first run are still answered after the run boundary.
    const first = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
    expect(first.body).toMatchObject({ status: 'completed', version: 1 });

    const description = await h.client.workflow.getHandle(`lead-${created.body.id}`).describe();
    expect(description.raw.workflowExecutionInfo?.firstRunId).not.toBe(description.runId);

    const history = await call(h.app, 'GET', `/api/leads/${created.body.id}/history`);
    const changes = history.body.events.filter((e: { kind: string }) => e.kind === 'change');
    // Every accepted change appears exactly once across all runs, in the order it was sent.
    expect(changes.map((e: { task_id: string }) => e.task_id)).toEqual(receipts.map((r) => r.task_id));
    expect(history.body.events.some((e: { kind: string }) => e.kind === 'continued_as_new')).toBe(true);
  });
});
