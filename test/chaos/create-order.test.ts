import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Found by the chaos suite: updates accepted while no worker has yet run the lead's first
// workflow task must still apply after the create, in the order they were acknowledged.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('a lead whose first workflow task runs late', () => {
  it('applies the create before the updates acknowledged after it', async () => {
    await h.stopWorker();
    const email = uniqueEmail('late-start');
    const created = await call(h.app, 'POST', '/api/leads', { email, first_name: 'Created', company: 'First Co', source: 'website' });
    expect(created.status).toBe(202);
    const put = await call(h.app, 'PUT', `/api/leads/${created.body.id}`, { email, first_name: 'Replaced', company: 'Second Co' });
    expect(put.status).toBe(202);
    await h.startWorker();

    const contact = await eventually(async () => {
      const c = h.crm.contact(created.body.id);
      return c?.version === 2 ? c : undefined;
    }, { what: 'the CRM to reach version 2' });
    // The PUT replaced the whole lead: the create's fields must not come back.
    expect(contact.lead).toMatchObject({ first_name: 'Replaced', company: 'Second Co' });
    expect(contact.lead.source).toBeUndefined();
    const lead = await call(h.app, 'GET', `/api/leads/${created.body.id}`);
    expect(lead.body).toMatchObject({ version: 2, first_name: 'Replaced', company: 'Second Co' });
  });
});
