import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimWorkflowId } from '../../src/identity/address-book.js';
import { emailKeysFromConfig } from '../../src/identity/email-key.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// One person, one lead: an email is a unique key across leads, held by a claim per address
// (src/identity/address-book.ts) that the API takes before it hands a write to a lead.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const keys = () => emailKeysFromConfig(h.config);

async function settled(id: string, version: number) {
  return eventually(
    async () => {
      const res = await call(h.app, 'GET', `/api/leads/${id}`);
      return res.status === 200 && res.body.version >= version && res.body.crm.status === 'synced' ? res.body : undefined;
    },
    { what: `lead ${id} at version ${version}, synced` },
  );
}

const byEmail = async (email: string) => (await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`)).body.items as Array<{ id: string }>;

describe('email identity', () => {
  it('follows a lead to its new email, releases the old one, and refuses an email another lead holds', async () => {
    const orig = uniqueEmail('orig');
    const next = uniqueEmail('new');
    const a = await call(h.app, 'POST', '/api/leads', { email: orig, first_name: 'Ada' });
    expect(a.status).toBe(202);
    const id = a.body.id as string;
    await settled(id, 1);

    const moved = await call(h.app, 'PUT', `/api/leads/${id}`, { email: next, first_name: 'Ada' });
    expect(moved.status).toBe(202);
    // Read-your-writes: the new email finds the lead at once (its claim is taken before the 202).
    expect((await byEmail(next)).map((l) => l.id)).toEqual([id]);
    await settled(id, 2);
    expect(await byEmail(orig)).toEqual([]);

    // A POST with the new email lands on the same lead.
    const again = await call(h.app, 'POST', '/api/leads', { email: next });
    expect(again.body).toMatchObject({ id, deduplicated: true });

    // The old email was released (once the lead applied the change): a POST makes a new lead.
    await eventually(async () => {
      const d = await h.client.workflow.getHandle(claimWorkflowId(keys().current(orig))).describe();
      return d.status.name === 'TERMINATED' ? true : undefined;
    }, { what: 'the old claim released' });
    const b = await call(h.app, 'POST', '/api/leads', { email: orig, first_name: 'Bob' });
    expect(b.status).toBe(202);
    expect(b.body.id).not.toBe(id);
    expect(b.body.deduplicated).toBe(false);
    await settled(b.body.id, 1);

    // Moving B onto A's email: 409 email_taken naming A, and nothing changes.
    const taken = await call(h.app, 'PATCH', `/api/leads/${b.body.id}`, { email: next });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'email_taken', lead_id: id });
    const put = await call(h.app, 'PUT', `/api/leads/${b.body.id}`, { email: next, first_name: 'Bob' });
    expect(put.status).toBe(409);
    const bNow = await call(h.app, 'GET', `/api/leads/${b.body.id}`);
    expect(bNow.body).toMatchObject({ email: orig, version: 1 });

    // The CRM holds one contact per email.
    const emails = h.crm.contacts().map((c) => c.lead.email);
    expect(new Set(emails).size).toBe(emails.length);
  });

  it('lands concurrent creates of one email on one lead', async () => {
    const email = uniqueEmail('race');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => call(h.app, 'POST', '/api/leads', { email, tags: [`t${i}`] })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.deduplicated === false)).toHaveLength(1);
    const [id] = [...ids] as [string];
    // Every create was applied to that one lead (a duplicate create merges like a patch).
    const lead = await settled(id, 8);
    expect(lead.version).toBe(8);
  });

  it('lets exactly one of two leads take a free email at the same time', async () => {
    const [x, y] = await Promise.all([call(h.app, 'POST', '/api/leads', { email: uniqueEmail('x') }), call(h.app, 'POST', '/api/leads', { email: uniqueEmail('y') })]);
    const target = uniqueEmail('contested');
    const answers = await Promise.all([
      call(h.app, 'PATCH', `/api/leads/${x.body.id}`, { email: target }),
      call(h.app, 'PATCH', `/api/leads/${y.body.id}`, { email: target }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
  });

  it('releases a claim whose write failed: an unknown lead id is a 404 and leaves the email free', async () => {
    const email = uniqueEmail('ghost');
    const res = await call(h.app, 'PUT', '/api/leads/aaaaaaaaaaaaaaaaaaaa', { email });
    expect(res.status).toBe(404);
    const created = await call(h.app, 'POST', '/api/leads', { email });
    expect(created.body.deduplicated).toBe(false);
  });
});
