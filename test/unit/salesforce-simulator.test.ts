import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSalesforceChanges, verifySignedWebhook } from '../../src/crm-inbound/signed-webhook.js';
import { startSalesforceSimulator, type SalesforceSimulator, type SalesforceSimulatorOptions } from '../../tooling/simulators/salesforce/salesforce-simulator.js';

// The Salesforce simulator answers in the shapes Salesforce documents: raw HTTP here, the connector elsewhere.

let sim: SalesforceSimulator;
let token: string;

async function start(opts: SalesforceSimulatorOptions = {}): Promise<void> {
  await sim?.close();
  sim = await startSalesforceSimulator({ port: 0, ...opts });
  token = (await json(tokenCall())).access_token;
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  await sim.close();
});

// Answers are checked structurally by the assertions, so untyped JSON is fine here.
async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

function tokenCall(form: Record<string, string> = { grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'sim-client-secret' }) {
  return fetch(`${sim.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

function api(method: string, path: string, body?: unknown, version = 'v62.0') {
  return fetch(`${sim.url}/services/data/${version}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function lead(id: string, fields: Record<string, unknown> = {}) {
  return { attributes: { type: 'Lead' }, AO_Lead_Id__c: id, LastName: 'Lovelace', Company: 'Analytical', Email: `${id}@example.com`, ...fields };
}

function upsert(records: unknown[], allOrNone = false) {
  return api('PATCH', '/composite/sobjects/Lead/AO_Lead_Id__c', { allOrNone, records });
}

describe('Salesforce simulator: OAuth', () => {
  it('issues a bearer token for the client credentials, and refuses bad ones as Salesforce does', async () => {
    const res = await tokenCall();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      access_token: expect.any(String),
      instance_url: sim.url,
      id: expect.stringContaining('/id/'),
      token_type: 'Bearer',
      issued_at: expect.stringMatching(/^\d+$/),
      signature: expect.any(String),
    });
    const bad = await tokenCall({ grant_type: 'client_credentials', client_id: 'sim-client-id', client_secret: 'wrong' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(sim.stats()).toMatchObject({ tokenRequests: 3, requests: 0 });
  });

  it('answers 401 INVALID_SESSION_ID once tokens expire (by TTL or expireTokens)', async () => {
    expect((await api('GET', '/sobjects/Lead/AO_Lead_Id__c/none')).status).toBe(404);
    sim.expireTokens();
    const res = await api('GET', '/sobjects/Lead/AO_Lead_Id__c/none');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);

    await start({ tokenTtlMs: 30 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await api('GET', '/sobjects/Lead/AO_Lead_Id__c/none')).status).toBe(401);
  });
});

describe('Salesforce simulator: collections upsert', () => {
  it('creates then updates by external id, one UpsertResult per record in order', async () => {
    const first = await upsert([lead('a'), lead('b')]);
    expect(first.status).toBe(200);
    const created = await json(first);
    expect(created).toEqual([
      { id: expect.stringMatching(/^00Q\w{15}$/), success: true, created: true, errors: [] },
      { id: expect.stringMatching(/^00Q\w{15}$/), success: true, created: true, errors: [] },
    ]);
    const again = await json(upsert([lead('a', { Status: 'Working - Contacted' })]));
    expect(again).toEqual([{ id: created[0].id, success: true, created: false, errors: [] }]);
    expect(sim.recordByExternalId('a')).toMatchObject({ Id: created[0].id, Status: 'Working - Contacted', attributes: { type: 'Lead' } });
    expect(sim.stats()).toMatchObject({ records: 3, created: 2, updated: 1 });
  });

  it('refuses per record (in a 200) what a standard org refuses, and saves the others', async () => {
    await upsert([lead('holder', { Email: 'Ada@Example.com' })]);
    const res = await upsert([
      lead('dup', { Email: 'ada@example.com' }),
      lead('nolast', { LastName: undefined, Company: '' }),
      lead('bademail', { Email: 'not-an-email' }),
      lead('long', { FirstName: 'x'.repeat(41) }),
      lead('fine'),
    ]);
    expect(res.status).toBe(200);
    const results = await json(res);
    expect(results.map((r: { errors: { statusCode: string }[] }) => r.errors[0]?.statusCode ?? 'ok')).toEqual([
      'DUPLICATES_DETECTED',
      'REQUIRED_FIELD_MISSING',
      'INVALID_EMAIL_ADDRESS',
      'STRING_TOO_LONG',
      'ok',
    ]);
    expect(results[0]).toEqual({ success: false, errors: [expect.objectContaining({ statusCode: 'DUPLICATES_DETECTED', message: 'Use one of these records?', fields: [] })] });
    expect(results[1].errors[0]).toEqual({ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName, Company]', fields: ['LastName', 'Company'] });
    expect(sim.records().map((r) => r.AO_Lead_Id__c).sort()).toEqual(['fine', 'holder']);
    expect(sim.stats().recordErrors).toEqual({ DUPLICATES_DETECTED: 1, REQUIRED_FIELD_MISSING: 1, INVALID_EMAIL_ADDRESS: 1, STRING_TOO_LONG: 1 });
  });

  it('finds duplicates within one request too', async () => {
    const results = await json(upsert([lead('x', { Email: 'same@example.com' }), lead('y', { Email: 'same@example.com' })]));
    expect(results.map((r: { success: boolean }) => r.success)).toEqual([true, false]);
  });

  it('rolls every record back under allOrNone when one fails', async () => {
    const results = await json(upsert([lead('ok1'), lead('bad', { Company: null })], true));
    expect(results).toEqual([
      { success: false, errors: [expect.objectContaining({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' })] },
      { success: false, errors: [expect.objectContaining({ statusCode: 'REQUIRED_FIELD_MISSING' })] },
    ]);
    expect(sim.records()).toEqual([]);
    expect((await json(upsert([lead('ok1')], true)))[0]).toMatchObject({ success: true });
  });

  it('takes 200 records and refuses 201 with a 400', async () => {
    const many = Array.from({ length: 201 }, (_, i) => lead(`l${i}`));
    const refused = await upsert(many);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual([{ message: expect.stringContaining('200'), errorCode: 'EXCEEDED_ID_LIMIT' }]);
    expect(sim.records()).toEqual([]);
    expect((await upsert(many.slice(0, 200))).status).toBe(200);
    expect(sim.records()).toHaveLength(200);
  });

  it('refuses an unknown field, an unknown API version and another external-id field', async () => {
    const unknown = await upsert([lead('a', { Nickname: 'x' })]);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual([{ message: "No such column 'Nickname' on sobject of type Lead", errorCode: 'INVALID_FIELD' }]);
    const version = await api('PATCH', '/composite/sobjects/Lead/AO_Lead_Id__c', { records: [lead('a')] }, 'v12.0');
    expect(version.status).toBe(404);
    expect(await version.json()).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    expect((await api('PATCH', '/composite/sobjects/Lead/Other__c', { records: [lead('a')] })).status).toBe(404);
  });

  it('fails the next records with UNABLE_TO_LOCK_ROW when told to', async () => {
    sim.setFaults({ lockRowNext: 1 });
    const results = await json(upsert([lead('a'), lead('b')]));
    expect(results[0]).toEqual({ success: false, errors: [expect.objectContaining({ statusCode: 'UNABLE_TO_LOCK_ROW' })] });
    expect(results[1]).toMatchObject({ success: true });
  });
});

describe('Salesforce simulator: allowance and faults', () => {
  it('reports usage in Sforce-Limit-Info on every API answer and refuses when spent', async () => {
    await start({ dailyApiLimit: 2 });
    expect((await api('GET', '/sobjects/Lead/AO_Lead_Id__c/a')).headers.get('sforce-limit-info')).toBe('api-usage=1/2');
    expect((await upsert([lead('a')])).headers.get('sforce-limit-info')).toBe('api-usage=2/2');
    const spent = await upsert([lead('b')]);
    expect(spent.status).toBe(403);
    expect(spent.headers.get('sforce-limit-info')).toBe('api-usage=2/2');
    expect(await spent.json()).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    expect((await tokenCall()).status).toBe(200);
    expect(sim.stats()).toMatchObject({ requests: 2, byStatus: { '200': 3, '404': 1, '403': 1 } });
  });

  it('answers 503 for failNext and while down', async () => {
    sim.setFaults({ failNext: 1 });
    const failed = await upsert([lead('a')]);
    expect(failed.status).toBe(503);
    expect((await json(failed))[0]).toMatchObject({ errorCode: 'SERVER_UNAVAILABLE' });
    expect((await upsert([lead('a')])).status).toBe(200);
    sim.setFaults({ down: true });
    expect((await upsert([lead('a')])).status).toBe(503);
    expect((await upsert([lead('a')])).status).toBe(503);
  });
});

describe('Salesforce simulator: by external id, and a rep edit reported by a Flow callout', () => {
  it('gets and deletes a lead by external id; 404 NOT_FOUND when gone', async () => {
    await upsert([lead('a')]);
    const got = await api('GET', '/sobjects/Lead/AO_Lead_Id__c/a');
    expect(await got.json()).toMatchObject({ attributes: { type: 'Lead', url: expect.stringContaining('/sobjects/Lead/00Q') }, AO_Lead_Id__c: 'a', LastName: 'Lovelace' });
    expect((await api('DELETE', '/sobjects/Lead/AO_Lead_Id__c/a')).status).toBe(204);
    const gone = await api('DELETE', '/sobjects/Lead/AO_Lead_Id__c/a');
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    expect(sim.records()).toEqual([]);
  });

  it("POSTs a rep's change as a signed notice the webhook verifier accepts", async () => {
    const received: { header: string | undefined; body: string }[] = [];
    const target: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ header: req.headers['x-ao-signature'] as string | undefined, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    try {
      sim.configureFlowCallout({ targetUrl: `http://127.0.0.1:${(target.address() as AddressInfo).port}/crm/salesforce/changes`, secret: 's3cret' });
      const [{ id }] = await json(upsert([lead('a', { Status: 'Open - Not Contacted' })]));
      expect(sim.callouts()).toEqual([]); // our own upserts are not reported back
      const edit = await api('PATCH', `/sobjects/Lead/${id}`, { Status: 'Working - Contacted', OwnerId: '005000000000002AAA', LastName: 'Lovelace' });
      expect(edit.status).toBe(204);
      await sim.calloutsSettled();

      expect(received).toHaveLength(1);
      const [notice] = received;
      expect(verifySignedWebhook({ header: notice!.header, body: notice!.body, secret: 's3cret' })).toEqual({ ok: true });
      const parsed = parseSalesforceChanges(notice!.body);
      expect(parsed).toEqual({
        ok: true,
        events: [{ eventId: expect.any(String), objectType: 'Lead', externalId: 'a', changedFields: { Status: 'Working - Contacted', OwnerId: '005000000000002AAA' }, changedAt: expect.any(String) }],
      });
      expect(sim.callouts()).toEqual([expect.objectContaining({ externalId: 'a', status: 202 })]);
      expect(sim.recordByExternalId('a')).toMatchObject({ Status: 'Working - Contacted' });
    } finally {
      await new Promise((resolve) => target.close(resolve));
    }
  });
});
