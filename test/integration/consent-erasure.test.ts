import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { automationServiceFromConfig, leadServiceFromConfig } from '../../src/api/compose.js';
import { unsubscribeUrl, DEV_UNSUBSCRIBE_SECRET } from '../../src/automations/unsubscribe.js';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { addressBookFromConfig, type AddressBook } from '../../src/identity/address-book.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Consent belongs to the address and survives every write; erasure removes a lead everywhere
// and keeps only the keyed hash that stops mail to the address (src/identity, docs/personal-data.md).

let h: Harness;
let app: FastifyInstance;
let book: AddressBook;
beforeAll(async () => {
  h = await startHarness();
  app = await buildApp({ leads: leadServiceFromConfig(h.config, h.client), automations: automationServiceFromConfig(h.config, h.client) });
  book = addressBookFromConfig(h.config, h.client);
  await h.startWorker();
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function leadAt(id: string, version: number) {
  return eventually(
    async () => {
      const res = await call(app, 'GET', `/api/leads/${id}`);
      // Synced at the version, not only synced: a read between a change's acceptance and its
      // processing shows the change applied but not yet processed (an address's consent is
      // read by lead_process), with the CRM still synced at the version before.
      const { body } = res;
      return res.status === 200 && body.version >= version && body.crm.status === 'synced' && body.crm.synced_version >= version ? body : undefined;
    },
    { what: `lead ${id} at version ${version}, synced` },
  );
}

const mailsTo = (email: string) => h.smtp.messages().filter((m) => m.to.includes(email)).length;

describe('consent', () => {
  it('keeps an opt-out through PUT, duplicate POST and a PATCH of false; only an explicit resubscribe lifts it', async () => {
    const email = uniqueEmail('optout');
    const { body } = await call(app, 'POST', '/api/leads', { email, first_name: 'Ada' });
    const id = body.id as string;
    await leadAt(id, 1);
    await call(app, 'PATCH', `/api/leads/${id}`, { unsubscribed: true });
    expect((await leadAt(id, 2)).unsubscribed).toBe(true);

    await call(app, 'PUT', `/api/leads/${id}`, { email, first_name: 'Ada', company: 'Acme' });
    await call(app, 'POST', '/api/leads', { email, unsubscribed: false });
    await call(app, 'PATCH', `/api/leads/${id}`, { unsubscribed: false });
    const after = await leadAt(id, 5);
    expect(after).toMatchObject({ unsubscribed: true, company: 'Acme' });
    expect(await book.suppression(email)).toMatchObject({ reason: 'unsubscribed' });

    const missingSource = await call(app, 'POST', `/api/leads/${id}/consent`, { subscribed: true });
    expect(missingSource.status).toBe(400);
    const resub = await call(app, 'POST', `/api/leads/${id}/consent`, { subscribed: true, source: 'preferences page, double opt-in' });
    expect(resub.status).toBe(202);
    expect(resub.body).toMatchObject({ status: 'queued', unsubscribed: false });
    expect((await leadAt(id, 6)).unsubscribed).toBe(false);
    expect(await book.suppression(email)).toBeNull();
  });

  it('belongs to the address: a lead moving away is mailable, a new lead of the opted-out address is not', async () => {
    const orig = uniqueEmail('addr');
    const next = uniqueEmail('addr-new');
    const a = (await call(app, 'POST', '/api/leads', { email: orig })).body.id as string;
    await leadAt(a, 1);
    await eventually(async () => (mailsTo(orig) === 1 ? true : undefined), { what: 'the welcome email' });
    await call(app, 'PATCH', `/api/leads/${a}`, { unsubscribed: true });
    await leadAt(a, 2);
    await call(app, 'PATCH', `/api/leads/${a}`, { email: next });
    expect((await leadAt(a, 3)).unsubscribed).toBe(false);

    // orig is free again (released by A) but still suppressed: B is created opted out and gets no welcome.
    const b = await eventually(async () => {
      const res = await call(app, 'POST', '/api/leads', { email: orig, first_name: 'Bea' });
      return res.body.id !== a ? (res.body.id as string) : undefined;
    }, { what: 'a new lead for the released address' });
    const lead = await leadAt(b, 1);
    expect(lead.unsubscribed).toBe(true);
    const task = await eventually(async () => {
      const t = (await call(app, 'GET', `/api/leads/${b}`)).body;
      return t.version >= 1 ? t : undefined;
    });
    expect(task).toBeDefined();
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(orig)).toBe(1);
  });

  it('takes the unsubscribe link once: a second click writes no version', async () => {
    const email = uniqueEmail('click');
    const id = (await call(app, 'POST', '/api/leads', { email })).body.id as string;
    await leadAt(id, 1);
    const url = new URL(unsubscribeUrl(h.config.UNSUBSCRIBE_BASE_URL, h.config.UNSUBSCRIBE_SECRET ?? DEV_UNSUBSCRIBE_SECRET, id));
    const click = () =>
      app.inject({ method: 'POST', url: `${url.pathname}${url.search}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect((await click()).statusCode).toBe(200);
    const first = await leadAt(id, 2);
    expect(first.unsubscribed).toBe(true);
    const writes = h.crm.contact(id)!.writes;
    expect((await click()).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    const second = (await call(app, 'GET', `/api/leads/${id}`)).body;
    expect(second.version).toBe(2);
    expect(h.crm.contact(id)!.writes).toBe(writes);
  });
});

describe('erasure and export', () => {
  it('exports what the service holds, then erases the lead everywhere and keeps the address suppressed', async () => {
    const email = uniqueEmail('erase');
    const id = (await call(app, 'POST', '/api/leads', { email, first_name: 'Eve', company: 'Erasable Ltd' })).body.id as string;
    await leadAt(id, 1);

    const exported = await call(app, 'GET', `/api/leads/${id}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({
      lead: { id, email, first_name: 'Eve' },
      consent: { unsubscribed: false, suppression: null },
      email_claim: { held: true },
      crm: { status: 'synced' },
    });
    expect(exported.body.history.some((e: { kind: string }) => e.kind === 'change')).toBe(true);

    const erase = await call(app, 'DELETE', `/api/leads/${id}`);
    expect(erase.status).toBe(202);
    const taskId = erase.body.task_id as string;
    // Gone at once for reads and writes, before the erasure has run.
    expect((await call(app, 'GET', `/api/leads/${id}`)).body.error?.code).toBe('lead_erased');
    expect((await call(app, 'PATCH', `/api/leads/${id}`, { company: 'Still here?' })).body.error?.code).toBe('lead_erased');
    expect((await call(app, 'DELETE', `/api/leads/${id}`)).body.error?.code).toBe('lead_erased');
    // Its automation runs too (schemathesis ST301 found them listed until the erasure deleted them).
    expect((await call(app, 'GET', `/api/leads/${id}/automation-runs`)).status).toBe(404);
    const task = await eventually(
      async () => {
        const res = await call(app, 'GET', `/api/tasks/${taskId}`);
        return res.status === 200 && (res.body.status === 'completed' || res.body.status === 'failed') ? res.body : undefined;
      },
      { what: 'the erasure task finished', timeoutMs: 60_000 },
    );
    expect(task).toMatchObject({ type: 'lead_erase', status: 'completed' });
    expect(task.steps.map((s: { status: string }) => s.status)).toEqual(Array(5).fill('completed'));

    for (const [method, url] of [['GET', `/api/leads/${id}`], ['GET', `/api/leads/${id}/history`], ['PATCH', `/api/leads/${id}`]] as const) {
      const res = await call(app, method, url, method === 'PATCH' ? { first_name: 'X' } : undefined);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('lead_erased');
    }
    expect((await call(app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`)).body.items).toEqual([]);
    expect(h.crm.contact(id)).toBeUndefined();
    const left: string[] = [];
    for await (const run of h.client.workflow.list({ query: `WorkflowId = '${leadWorkflowId(id)}'` })) left.push(run.runId);
    expect(left).toEqual([]);
    expect(await book.suppression(email)).toMatchObject({ reason: 'erased' });
    expect(await book.holder(email)).toBeNull();

    // The address comes back as a new lead, opted out: it is never mailed again by itself.
    const mails = mailsTo(email);
    const again = await call(app, 'POST', '/api/leads', { email });
    expect(again.body.id).not.toBe(id);
    expect((await leadAt(again.body.id, 1)).unsubscribed).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(email)).toBe(mails);
  });
});
