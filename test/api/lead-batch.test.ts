import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAD_ID_PATTERN } from '../../src/domain/ids.js';
import { addressBookFromConfig } from '../../src/identity/address-book.js';
import { call, eventually, startHarness, startUnreachableApp, uniqueEmail, type Harness } from '../support/harness.js';

// POST /api/leads/batch against the real dev server with a worker, so accepted leads are
// processed end to end (CRM simulator, SMTP sink).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const batch = (leads: unknown[], headers: Record<string, string> = {}) => call(h.app, 'POST', '/api/leads/batch', { leads }, headers);

async function taskDone(taskId: string): Promise<{ status: string }> {
  return eventually(
    async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${taskId}`);
      return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
    },
    { what: `task ${taskId} to finish` },
  );
}

async function leadOf(id: string): Promise<Record<string, any>> {
  const res = await call(h.app, 'GET', `/api/leads/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Whether any lead holds `email` (its claim): a lead was created for it. */
async function emailHeld(email: string): Promise<boolean> {
  const book = addressBookFromConfig(h.config, h.client);
  return (await book.holder(email)) !== null;
}

describe('POST /api/leads/batch', () => {
  it('answers 202 for valid and invalid leads alike, one item per lead in request order, and processes the valid ones', async () => {
    const [a, b] = [uniqueEmail('batch-a'), uniqueEmail('batch-b')];
    const res = await batch([{ email: a, company: 'A' }, { email: 'nope', stage: 'won' }, 'not a lead', { email: b, fax: 1 }, { email: b }]);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toEqual({
      accepted: 2,
      rejected: 3,
      items: [
        { index: 0, id: expect.stringMatching(LEAD_ID_PATTERN), task_id: expect.stringMatching(/^[a-z2-7]{20}\.[a-z2-7]{12}$/), status: 'queued', deduplicated: false },
        {
          index: 1,
          error: {
            code: 'invalid_lead',
            message: 'the lead is invalid (2 problems)',
            issues: [
              { path: 'email', code: 'invalid_format', message: 'must be a valid email address' },
              { path: 'stage', code: 'invalid_value', message: expect.any(String) },
            ],
          },
        },
        { index: 2, error: { code: 'invalid_lead', message: expect.any(String), issues: [{ path: '(lead)', code: 'invalid_type', message: expect.any(String) }] } },
        { index: 3, error: { code: 'invalid_lead', message: expect.any(String), issues: [{ path: 'fax', code: 'unknown_field', message: expect.any(String) }] } },
        { index: 4, id: expect.stringMatching(LEAD_ID_PATTERN), task_id: expect.any(String), status: 'queued', deduplicated: false },
      ],
    });
    for (const item of [res.body.items[0], res.body.items[4]]) expect(await taskDone(item.task_id)).toMatchObject({ status: 'completed' });
    expect(await leadOf(res.body.items[0].id)).toMatchObject({ email: a, company: 'A', version: 1, crm: { status: 'synced', synced_version: 1 } });
    expect(h.crm.contact(res.body.items[4].id)).toMatchObject({ version: 1 });
    expect(h.smtp.messages().filter((m) => m.to.includes(a))).toHaveLength(1);
  });

  it('answers 400 naming every problem as leads.N.path and creates nothing when no lead is valid', async () => {
    const email = uniqueEmail('batch-none');
    const res = await batch([{ email, stage: 'won' }, { email: 'nope' }, null, { email, fax: 1 }]);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', request_id: expect.any(String) });
    expect(res.body.error.issues.map((i: { path: string; code: string }) => `${i.path}:${i.code}`)).toEqual([
      'leads.0.stage:invalid_value',
      'leads.1.email:invalid_format',
      'leads.2:invalid_type',
      'leads.3.fax:unknown_field',
    ]);
    expect(await emailHeld(email)).toBe(false);
  });

  it.each([
    ['not an object', [], '(body)', 'invalid_type'],
    ['no leads', {}, 'leads', 'invalid_type'],
    ['leads not an array', { leads: { email: 'a@example.com' } }, 'leads', 'invalid_type'],
    ['no lead at all', { leads: [] }, 'leads', 'too_small'],
    ['501 leads', { leads: Array.from({ length: 501 }, (_, i) => ({ email: `n${i}@example.com` })) }, 'leads', 'too_big'],
    ['an unknown top-level key', { leads: [{ email: 'a@example.com' }], dry_run: true }, 'dry_run', 'unknown_field'],
  ])('refuses an invalid envelope (%s) with 400 and writes nothing', async (_label, body, path, code) => {
    const res = await call(h.app, 'POST', '/api/leads/batch', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.issues).toEqual([{ path, code, message: expect.any(String) }]);
    expect(await emailHeld('n0@example.com')).toBe(false);
  });

  it('takes 500 realistic leads in one body (a 400 here, so nothing is created), refuses a body over 2 MiB with 413', async () => {
    const lead = (i: number) => ({
      email: `realistic.${i}@example.com`,
      first_name: 'Augusta Ada',
      last_name: 'King-Noel, Countess of Lovelace',
      company: 'Analytical Engines and Difference Machines Ltd',
      phone: '+44 20 7946 0000',
      source: 'trade-show-2026-london',
      stage: 'won',
      tags: ['import', 'enterprise', 'emea', 'q4'],
      custom: { employees: 250, region: 'EMEA', plan: 'enterprise', notes: 'x'.repeat(400) },
    });
    const leads = Array.from({ length: 500 }, (_, i) => lead(i));
    expect(Buffer.byteLength(JSON.stringify({ leads }))).toBeGreaterThan(64 * 1024);
    const res = await batch(leads);
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toHaveLength(50);
    expect(res.body.error.message).toContain('500 problems');

    const huge = Array.from({ length: 500 }, (_, i) => ({ ...lead(i), custom: { notes: 'x'.repeat(999), more: 'y'.repeat(999), more2: 'z'.repeat(999), more3: 'w'.repeat(999), more4: 'v'.repeat(999) } }));
    const tooLarge = await batch(huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('body_too_large');
  });

  it('with an Idempotency-Key: a retry gets the identical answer and applies nothing twice', async () => {
    const [a, b] = [uniqueEmail('batch-idem-a'), uniqueEmail('batch-idem-b')];
    const leads = [{ email: a, company: 'First' }, { email: b }, { email: 'bad' }, { email: a.toUpperCase(), company: 'Second' }];
    const headers = { 'idempotency-key': `batch-${a}` };
    const first = await batch(leads, headers);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body.items.map((i: { deduplicated?: boolean }) => i.deduplicated)).toEqual([false, false, undefined, true]);
    for (const i of [0, 1, 3]) await taskDone(first.body.items[i].task_id);

    // Key order inside a lead does not make another body.
    const retry = await batch(leads.map((lead) => Object.fromEntries(Object.entries(lead).reverse())), headers);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);

    // A change sent after the retry is applied after it: once it is done, the retry's were looked at too.
    const [idA, idB] = [first.body.items[0].id as string, first.body.items[1].id as string];
    expect(first.body.items[3].id).toBe(idA);
    for (const id of [idA, idB]) {
      const patched = await call(h.app, 'PATCH', `/api/leads/${id}`, { stage: 'contacted' });
      await taskDone(patched.body.task_id);
    }
    expect(await leadOf(idA)).toMatchObject({ company: 'Second', stage: 'contacted', version: 3 });
    expect(await leadOf(idB)).toMatchObject({ stage: 'contacted', version: 2 });
    await eventually(async () => (h.crm.contact(idA)?.version === 3 ? true : undefined), { what: 'CRM at version 3' });
    expect(h.smtp.messages().filter((m) => m.to.includes(a))).toHaveLength(1);
  });

  it('the same Idempotency-Key with another body answers 422', async () => {
    const email = uniqueEmail('batch-422');
    const headers = { 'idempotency-key': `batch-${email}` };
    expect((await batch([{ email }], headers)).status).toBe(202);
    const res = await batch([{ email, company: 'Other' }], headers);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('idempotency_key_reused');
  });

  it('two leads with one email make one lead, the later merged into the earlier like two POSTs', async () => {
    const email = uniqueEmail('batch-dup');
    const res = await batch([
      { email, first_name: 'Ada', company: 'Old Co', stage: 'new' },
      { email: ` ${email.toUpperCase()} `, company: 'New Co', stage: 'qualified' },
    ]);
    expect(res.status).toBe(202);
    const [first, second] = res.body.items;
    expect(second.id).toBe(first.id);
    expect([first.deduplicated, second.deduplicated]).toEqual([false, true]);
    expect(second.task_id).not.toBe(first.task_id);
    await taskDone(second.task_id);
    expect(await leadOf(first.id)).toMatchObject({ email, first_name: 'Ada', company: 'New Co', stage: 'qualified', version: 2 });
    await eventually(async () => (h.crm.contact(first.id)?.version === 2 ? true : undefined), { what: 'CRM at version 2' });
    expect(h.crm.contact(first.id)?.lead).toMatchObject({ company: 'New Co' });
  });

  it('refuses a body with a __proto__ key inside an item (400 invalid_json) and creates none of its leads', async () => {
    const email = uniqueEmail('proto');
    const payload = `{"leads":[{"email":"${email}"},[{"__proto__":{"polluted":true}}]]}`;
    const res = await h.app.inject({ method: 'POST', url: '/api/leads/batch', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('invalid_json');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The valid lead beside it was not created: a create of its email now is a new lead.
    const after = await call(h.app, 'POST', '/api/leads', { email });
    expect(after.status).toBe(202);
    expect(after.body.deduplicated).toBe(false);
  });

  it('is documented as importLeads in the OpenAPI document, any item, at least one a valid lead', async () => {
    const doc = (await call(h.app, 'GET', '/openapi.json')).body;
    const op = doc.paths['/api/leads/batch'].post;
    expect(op.operationId).toBe('importLeads');
    expect(op.tags).toEqual(['leads']);
    expect(Object.keys(op.responses).sort()).toEqual(['202', '400', '401', '403', '413', '415', '422', '429', '503']);
    const items = op.requestBody.content['application/json'].schema.properties.leads;
    expect(items).toMatchObject({ type: 'array', minItems: 1, maxItems: 500 });
    // The route answers an invalid item in its place (202) and refuses only a batch with no
    // valid lead (400): any item, and `contains` the lead schema (schemathesis ST201/ST202).
    const constraints = Object.keys(items.items).filter((k) => k !== 'description');
    expect(constraints).toEqual([]);
    expect(items.contains).toMatchObject({ type: 'object', required: ['email'], additionalProperties: false });
    const single = doc.paths['/api/leads'].post.requestBody.content['application/json'].schema;
    expect(items.contains.properties).toEqual(single.properties);
  });
});

describe('POST /api/leads/batch with Temporal unreachable', () => {
  let down: FastifyInstance;
  let closeDown: () => Promise<void>;

  beforeAll(async () => {
    ({ app: down, close: closeDown } = await startUnreachableApp(h.config));
  });

  afterAll(async () => {
    await closeDown?.();
  });

  it('answers 503 temporal_unavailable with retry-after, not a partial 202', async () => {
    const res = await call(down, 'POST', '/api/leads/batch', { leads: [{ email: uniqueEmail('down') }, { email: 'bad' }] });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('temporal_unavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });
});
