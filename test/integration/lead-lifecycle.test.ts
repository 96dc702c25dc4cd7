import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

async function taskDone(taskId: string) {
  return eventually(
    async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${taskId}`);
      return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
    },
    { what: `task ${taskId} to finish` },
  );
}

describe('a lead from POST to CRM and email', () => {
  it('is normalized, scored, upserted into the CRM and welcomed exactly once', async () => {
    const email = uniqueEmail('Ada');
    const created = await call(h.app, 'POST', '/api/leads', {
      email: `  ${email.toUpperCase()} `,
      first_name: 'ada',
      last_name: 'LOVELACE',
      company: 'Analytical Engines',
      phone: '+44 (20) 7946-0000',
      source: 'Referral',
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'queued', deduplicated: false });
    expect(created.headers.location).toBe(`/api/leads/${created.body.id}`);

    const task = await taskDone(created.body.task_id);
    expect(task).toMatchObject({ status: 'completed', type: 'lead_process', lead_id: created.body.id });
    expect(task.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'lead_process:completed',
      'crm_update:completed',
      'email_send:completed',
    ]);

    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.status).toBe(200);
    expect(lead.body).toMatchObject({
      id: created.body.id,
      email: email.toLowerCase(),
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+442079460000',
      source: 'referral',
      stage: 'new',
      version: 1,
      crm: { status: 'synced', synced_version: 1 },
      read_source: 'events',
    });
    expect(lead.body.score).toBeGreaterThan(50);

    const contact = h.crm.contact(created.body.id);
    expect(contact).toMatchObject({ version: 1, creates: 1 });
    expect(contact?.lead).toMatchObject({ email: email.toLowerCase(), first_name: 'Ada' });

    const mails = h.smtp.messages().filter((m) => m.to.includes(email.toLowerCase()));
    expect(mails).toHaveLength(1);
    expect(mails[0]?.messageId).toBe(`welcome.${created.body.id}@leads.example.com`);

    // A CRM write lost with a crashed worker is retried after the CRM client's own timeout
    // plus a margin, not after a fixed minute.
    const history = await h.client.workflow.getHandle(leadWorkflowId(created.body.id)).fetchHistory();
    const scheduled = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'syncLeadToCrm',
    )?.activityTaskScheduledEventAttributes;
    expect(scheduled?.taskQueue?.name).toBe(h.config.TEMPORAL_CRM_TASK_QUEUE);
    expect(Number(scheduled?.startToCloseTimeout?.seconds)).toBe(h.config.CRM_TIMEOUT_MS / 1000 + 5);
  });

  it('deduplicates creates of one email, even concurrent ones, and still sends one welcome email', async () => {
    const email = uniqueEmail('dup');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call(h.app, 'POST', '/api/leads', { email, company: `Co ${i}` })),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.deduplicated === false)).toHaveLength(1);
    for (const a of answers) await taskDone(a.body.task_id);
    const [id] = [...ids];
    const lead = await call(h.app, 'GET', `/api/leads/${id}`);
    expect(lead.body.version).toBe(8);
    expect(h.crm.contact(id!)?.creates).toBe(1);
    expect(h.smtp.messages().filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('applies rapid PUTs in order and the CRM ends at the latest version', async () => {
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('rapid') });
    const puts = [];
    for (let i = 1; i <= 20; i++) {
      // Sequential sends, no waiting for processing: the workflow coalesces what piles up.
      puts.push(
        await call(h.app, 'PUT', `/api/leads/${created.body.id}`, {
          email: 'updated@example.com',
          first_name: 'Updated',
          last_name: `Lead${i}`,
        }),
      );
    }
    expect(puts.every((p) => p.status === 202 && p.body.status === 'queued')).toBe(true);
    await taskDone(puts.at(-1)!.body.task_id);
    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.body).toMatchObject({ version: 21, last_name: 'Lead20', email: 'updated@example.com' });
    const contact = h.crm.contact(created.body.id);
    expect(contact?.version).toBe(21);
    expect(contact?.lead).toMatchObject({ last_name: 'Lead20' });
    expect(contact?.staleWrites).toBe(0);
  });

  it("accepts the old design's PUT body; one email is one lead, so only the first of many leads gets it", async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('old') })).body.id);
    // The old design's body, with an address of this run (updated@example.com is anyone's).
    const body = { email: uniqueEmail('updated'), first_name: 'Updated', last_name: 'Lead' };
    const first = await call(h.app, 'PUT', `/api/leads/${ids[0]}`, body);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id: ids[0], task_id: expect.stringMatching(/^[a-z2-7]{20}\.[a-z2-7]{12}$/), status: 'queued' });
    const others = await Promise.all(ids.slice(1).map((id) => call(h.app, 'PUT', `/api/leads/${id}`, body)));
    for (const a of others) {
      expect(a.status).toBe(409);
      expect(a.body.error).toMatchObject({ code: 'email_taken', lead_id: ids[0] });
    }
  });

  it('PATCH changes only the given fields and null clears one', async () => {
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('patch'), company: 'Initech', phone: '555 0100' });
    const patched = await call(h.app, 'PATCH', `/api/leads/${created.body.id}`, { stage: 'qualified', phone: null });
    expect(patched.status).toBe(202);
    await taskDone(patched.body.task_id);
    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.body).toMatchObject({ company: 'Initech', stage: 'qualified', version: 2 });
    expect(lead.body.phone).toBeUndefined();
  });

  it('answers the same Idempotency-Key and body with the same receipt, another body with 422', async () => {
    const email = uniqueEmail('idem');
    const headers = { 'idempotency-key': `key-${email}` };
    const first = await call(h.app, 'POST', '/api/leads', { email, company: 'A' }, headers);
    const again = await call(h.app, 'POST', '/api/leads', { company: 'A', email }, headers);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const other = await call(h.app, 'POST', '/api/leads', { email, company: 'B' }, headers);
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    await taskDone(first.body.task_id);
    const lead = await call(h.app, 'GET', `/api/leads/${first.body.id}`);
    expect(lead.body.version).toBe(1); // the retry was applied once
  });

  it('returns 404 for unknown leads and tasks', async () => {
    expect((await call(h.app, 'GET', '/api/leads/aaaaaaaaaaaaaaaaaaaa')).status).toBe(404);
    expect((await call(h.app, 'PUT', '/api/leads/aaaaaaaaaaaaaaaaaaaa', { email: 'x@example.com' })).status).toBe(404);
    expect((await call(h.app, 'PATCH', '/api/leads/aaaaaaaaaaaaaaaaaaaa', { stage: 'new' })).status).toBe(404);
    expect((await call(h.app, 'GET', '/api/tasks/aaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaa')).status).toBe(404);
    expect((await call(h.app, 'GET', '/api/leads/aaaaaaaaaaaaaaaaaaaa/history')).status).toBe(404);
  });

  it('lists leads from Temporal visibility, filtered by email and stage, with a cursor', async () => {
    const email = uniqueEmail('list');
    const created = await call(h.app, 'POST', '/api/leads', { email, stage: 'contacted' });
    await taskDone(created.body.task_id);
    const byEmail = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`);
      return res.body.items?.length === 1 && res.body.items[0].version === 1 ? res.body : undefined;
    }, { what: 'visibility to list the lead' });
    expect(byEmail.items[0]).toMatchObject({ id: created.body.id, email, stage: 'contacted' });
    const page = await call(h.app, 'GET', '/api/leads?stage=contacted&limit=1');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].stage).toBe('contacted');
    // Following the cursor gives the next page, not the same lead again.
    const other = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('list2'), stage: 'contacted' });
    await taskDone(other.body.task_id);
    const first = await eventually(async () => {
      const res = await call(h.app, 'GET', '/api/leads?stage=contacted&limit=1');
      return res.body.next_cursor ? res.body : undefined;
    }, { what: 'a second page' });
    const second = await call(h.app, 'GET', `/api/leads?stage=contacted&limit=1&cursor=${first.next_cursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].id).not.toBe(first.items[0].id);
  });

  it('tells the story of a lead from Temporal history', async () => {
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('story') });
    const put = await call(h.app, 'PUT', `/api/leads/${created.body.id}`, { email: uniqueEmail('story2'), stage: 'contacted' });
    await taskDone(put.body.task_id);
    const history = await call(h.app, 'GET', `/api/leads/${created.body.id}/history`);
    expect(history.status).toBe(200);
    const kinds = history.body.events.map((e: { kind: string }) => e.kind);
    expect(kinds.filter((k: string) => k === 'change')).toHaveLength(2);
    expect(kinds).toContain('processed');
    expect(kinds).toContain('crm_sync');
    expect(kinds).toContain('email');
    expect(history.body.events[0]).toMatchObject({ kind: 'change', op: 'create', task_id: created.body.task_id });
  });
});

// The worker preloads src/workflows/stack-trace-limit.ts into its workflow context
// (docs/decisions.md, "No stack trace per workflow promise"): the SDK then records no frames
// for the promises a workflow creates. If the preload stops reaching the workflow context
// (the module dropped from the bundle, an SDK that freezes its globals before preloading),
// the stack-trace query shows the lead's frames again and this fails.
describe('stack traces in the workflow context', () => {
  it('are not recorded for a waiting lead workflow', async () => {
    const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('stack'), first_name: 'Ada' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await eventually(async () => (h.crm.contact(id)?.version === 1 ? true : undefined), { what: 'the lead in the CRM' });

    const handle = h.client.workflow.getHandle(leadWorkflowId(id));
    // Not a frame: each waiting promise's trace is the bare error line ("Error").
    expect(await handle.query<string>('__stack_trace')).not.toMatch(/^\s+at /m);
    const enhanced = await handle.query<{ stacks: { locations: unknown[] }[] }>('__enhanced_stack_trace');
    expect(enhanced.stacks.flatMap((s) => s.locations)).toEqual([]);
  });
});
