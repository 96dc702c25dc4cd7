import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotSimulator, type HubSpotSimulator } from '../../tooling/simulators/hubspot/simulator.js';
import { startSalesforceSimulator, type SalesforceSimulator } from '../../tooling/simulators/salesforce/salesforce-simulator.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// The worker's HubSpot and Salesforce connectors end to end, against the vendors' simulators:
// leads written in batches, the CRM's own changes coming back through its webhook as lead
// changes (and not written back), erasure through the vendor's delete, a contact the CRM
// already holds for the email as a dead letter.

const WEBHOOK_SECRET = 'crm-vendor-test-webhook-secret';

interface Vendor {
  h: Harness;
  /** API writes the CRM received (upserts), and the records they carried. */
  writes(): { requests: number; records: number };
  close(): Promise<void>;
}

async function listening(h: Harness): Promise<string> {
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const taskDone = (h: Harness, taskId: string) =>
  eventually(async () => {
    const { body } = await call(h.app, 'GET', `/api/tasks/${taskId}`);
    return body.status === 'completed' || body.status === 'failed' ? body : undefined;
  }, { what: `task ${taskId}` });

async function createLeads(h: Harness, n: number, fields: Record<string, unknown> = {}): Promise<Array<{ id: string; email: string }>> {
  const created = await Promise.all(
    Array.from({ length: n }, async () => {
      const email = uniqueEmail('vendor');
      const res = await call(h.app, 'POST', '/api/leads', { email, last_name: 'Lovelace', company: 'Analytical', stage: 'contacted', ...fields });
      expect(res.status).toBe(202);
      return { id: res.body.id as string, email, task: res.body.task_id as string };
    }),
  );
  await Promise.all(created.map((c) => taskDone(h, c.task)));
  return created;
}

const leadOf = async (h: Harness, id: string) => (await call(h.app, 'GET', `/api/leads/${id}`)).body;

describe.each(['hubspot', 'salesforce'] as const)('the %s connector', (vendor) => {
  let v: Vendor;
  let hubspot: HubSpotSimulator | undefined;
  let salesforce: SalesforceSimulator | undefined;

  beforeAll(async () => {
    if (vendor === 'hubspot') {
      hubspot = await startHubSpotSimulator({ port: 0 });
      const h = await startHarness({
        CRM_ADAPTER: 'hubspot',
        CRM_START_SIMULATOR: 'false',
        HUBSPOT_BASE_URL: hubspot.url,
        HUBSPOT_ACCESS_TOKEN: hubspot.accessToken,
        HUBSPOT_CLIENT_SECRET: WEBHOOK_SECRET,
        CRM_BATCH_WAIT_MS: '200',
      });
      const api = await listening(h);
      hubspot.setWebhooks({ targetUrl: `${api}/webhooks/hubspot`, clientSecret: WEBHOOK_SECRET, appId: 77 });
      const sim = hubspot;
      v = {
        h,
        writes: () => {
          const s = sim.stats();
          return { requests: s.byStatus['200'] ?? 0, records: s.records };
        },
        close: () => sim.close(),
      };
    } else {
      salesforce = await startSalesforceSimulator({ port: 0 });
      const h = await startHarness({
        CRM_ADAPTER: 'salesforce',
        CRM_START_SIMULATOR: 'false',
        SALESFORCE_INSTANCE_URL: salesforce.url,
        SALESFORCE_CLIENT_ID: 'sim-client-id',
        SALESFORCE_CLIENT_SECRET: 'sim-client-secret',
        CRM_WEBHOOK_SECRETS: WEBHOOK_SECRET,
        CRM_BATCH_WAIT_MS: '200',
      });
      const api = await listening(h);
      salesforce.configureFlowCallout({ targetUrl: `${api}/webhooks/crm`, secret: WEBHOOK_SECRET });
      const sim = salesforce;
      v = {
        h,
        writes: () => {
          const s = sim.stats();
          return { requests: s.byStatus['200'] ?? 0, records: s.records };
        },
        close: () => sim.close(),
      };
    }
    await v.h.startWorker();
  });

  afterAll(async () => {
    await v?.h.close();
    await v?.close();
  });

  it('writes the leads created at one moment in fewer requests than leads', async () => {
    const before = v.writes();
    const leads = await createLeads(v.h, 20);
    const after = v.writes();
    expect(after.records - before.records).toBe(20);
    expect(after.requests - before.requests, 'requests for 20 leads').toBeLessThanOrEqual(5);
    for (const { id } of leads) expect(await leadOf(v.h, id)).toMatchObject({ crm: { status: 'synced', synced_version: 1 } });
    if (hubspot) expect(hubspot.contactByLeadId(leads[0]!.id)?.properties).toMatchObject({ email: leads[0]!.email, lastname: 'Lovelace', hs_lead_status: 'IN_PROGRESS' });
    if (salesforce) expect(salesforce.recordByExternalId(leads[0]!.id)).toMatchObject({ Email: leads[0]!.email, LastName: 'Lovelace', Status: 'Working - Contacted' });
  });

  it('takes a sales rep\'s change in the CRM as a change of the lead, and does not write it back', async () => {
    const [lead] = await createLeads(v.h, 1);
    const writes = v.writes();
    if (hubspot) {
      const contact = hubspot.contactByLeadId(lead!.id)!;
      const res = await fetch(`${hubspot.url}/crm/v3/objects/contacts/${contact.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${hubspot.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { lifecyclestage: 'customer', company: 'Analytical Engines' } }),
      });
      expect(res.status).toBe(200);
      await hubspot.webhooksSettled();
      expect(hubspot.webhookDeliveries().at(-1)?.status).toBe(200);
    } else {
      const record = salesforce!.recordByExternalId(lead!.id) as { Id: string };
      const token = await (
        await fetch(`${salesforce!.url}/services/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=sim-client-id&client_secret=sim-client-secret',
        })
      ).json() as { access_token: string };
      const res = await fetch(`${salesforce!.url}/services/data/v62.0/sobjects/Lead/${record.Id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ Status: 'Closed - Converted', Company: 'Analytical Engines' }),
      });
      expect(res.status).toBe(204);
      await salesforce!.calloutsSettled();
      expect(salesforce!.callouts().at(-1)).toMatchObject({ status: 200 });
    }
    const changed = await eventually(async () => {
      const lead1 = await leadOf(v.h, lead!.id);
      return lead1.stage === 'customer' && lead1.company === 'Analytical Engines' && lead1.crm.status === 'synced' ? lead1 : undefined;
    }, { what: 'the CRM\'s change on the lead' });
    expect(changed.version).toBeGreaterThan(1);
    expect(changed.crm.synced_version).toBe(changed.version);
    // The rep's edit and HubSpot's contact read are requests too: what was written is counted in records.
    expect(v.writes().records, 'nothing written back to the CRM').toBe(writes.records);
  });

  it('leaves a lead whose email a contact the CRM made itself holds as a dead letter, and syncs the others of its batch', async () => {
    const taken = uniqueEmail('taken');
    if (hubspot) {
      const res = await fetch(`${hubspot.url}/crm/v3/objects/contacts/batch/upsert`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hubspot.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ idProperty: 'email', id: taken, properties: { email: taken } }] }),
      });
      expect(res.status).toBe(200);
    } else {
      const token = (await (
        await fetch(`${salesforce!.url}/services/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=sim-client-id&client_secret=sim-client-secret',
        })
      ).json()) as { access_token: string };
      const res = await fetch(`${salesforce!.url}/services/data/v62.0/composite/sobjects/Lead/AO_Lead_Id__c`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ allOrNone: false, records: [{ attributes: { type: 'Lead' }, AO_Lead_Id__c: 'made-by-a-rep', LastName: 'Rep', Company: 'X', Email: taken }] }),
      });
      expect(res.status).toBe(200);
    }
    const [clash, ...others] = await Promise.all([createLeads(v.h, 1, { email: taken }), createLeads(v.h, 3)]).then(([a, b]) => [...a, ...b]);
    const failed = await eventually(async () => {
      const lead = await leadOf(v.h, clash!.id);
      return lead.crm.status === 'failed' ? lead : undefined;
    }, { what: 'the clashing lead failed' });
    expect(failed.crm).toMatchObject({ status: 'failed', permanent: true });
    for (const { id } of others) expect(await leadOf(v.h, id)).toMatchObject({ crm: { status: 'synced' } });
  });

  it('refuses a webhook whose signature does not verify, and changes nothing', async () => {
    const path = vendor === 'hubspot' ? '/webhooks/hubspot' : '/webhooks/crm';
    const res = await call(v.h.app, 'POST', path, vendor === 'hubspot' ? [] : { events: [] }, { 'x-hubspot-signature-v3': 'AAAA', 'x-hubspot-request-timestamp': String(Date.now()), 'x-ao-signature': 't=1,v1=00' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_signature');
  });

  it('erases the lead\'s contact in the CRM with the lead', async () => {
    const [lead] = await createLeads(v.h, 1);
    const erased = await call(v.h.app, 'DELETE', `/api/leads/${lead!.id}`);
    expect(erased.status).toBe(202);
    await eventually(async () => {
      const gone = hubspot ? hubspot.contactByLeadId(lead!.id) === undefined : salesforce!.recordByExternalId(lead!.id) === undefined;
      return gone ? true : undefined;
    }, { what: 'the contact erased in the CRM' });
  });
});
