import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createClient, TransportError, type Client, type Task } from '../../src/client/index.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { eventually, uniqueEmail } from '../support/harness.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';

// The typed client against the real API, Temporal dev server and workers.

let api: ApiServer;
let client: Client;

beforeAll(async () => {
  api = await startApiServer();
  client = createClient({ baseUrl: api.baseUrl });
});
afterAll(async () => {
  await api?.close();
});

async function watchToEnd(taskId: string): Promise<Task[]> {
  const seen: Task[] = [];
  for await (const task of client.tasks.watch(taskId, { intervalMs: 100, timeoutMs: 45_000 })) seen.push(task);
  return seen;
}

describe('leads and tasks', () => {
  it('creates, watches, reads, replaces, patches and shows the history of a lead', async () => {
    const email = uniqueEmail('client');
    const created = await client.leads.create({ email: email.toUpperCase(), first_name: 'ada', company: 'Engines', source: 'referral' });
    expect(created).toMatchObject({ status: 'queued', deduplicated: false });

    const steps = await watchToEnd(created.task_id);
    expect(steps.at(-1)!.status).toBe('completed');
    expect(new Set(steps.map((t) => JSON.stringify(t.steps))).size).toBe(steps.length);

    const lead = await client.leads.get(created.id);
    expect(lead).toMatchObject({ id: created.id, email, first_name: 'Ada', version: 1, stage: 'new' });

    const replaced = await client.leads.replace(created.id, { email, first_name: 'Grace', company: 'Navy' });
    const patched = await client.leads.patch(created.id, { stage: 'qualified', company: null });
    expect((await watchToEnd(patched.task_id)).at(-1)!.status).toBe('completed');
    expect((await client.tasks.get(replaced.task_id)).status).toBe('completed');
    const after = await client.leads.get(created.id);
    expect(after).toMatchObject({ first_name: 'Grace', stage: 'qualified', version: 3 });
    expect(after.company).toBeUndefined();

    const { events } = await client.leads.history(created.id);
    expect(events.filter((e) => e.kind === 'change').map((e) => e.op)).toEqual(['create', 'replace', 'patch']);

    const found = await eventually(async () => {
      const page = await client.leads.list({ email });
      return page.items.length === 1 ? page : undefined;
    }, { what: 'the lead in visibility' });
    expect(found.items[0]!.id).toBe(created.id);
    const all: string[] = [];
    for await (const item of client.leads.listAll({ email, limit: 1 })) all.push(item.id);
    expect(all).toEqual([created.id]);
  });

  it('applies a write once per Idempotency-Key, and refuses the key with another body', async () => {
    const email = uniqueEmail('client-key');
    const key = `client-test-${email}`;
    const first = await client.leads.create({ email, company: 'A' }, { idempotencyKey: key });
    const again = await client.leads.create({ email, company: 'A' }, { idempotencyKey: key });
    expect(again).toEqual(first);
    const reused = await client.leads.create({ email, company: 'B' }, { idempotencyKey: key }).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(ApiError);
    expect(reused).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });
});

describe('errors', () => {
  it('throws ApiError with the code, every issue and the request id', async () => {
    const missing = await client.leads.get('aaaaaaaaaaaaaaaaaaaa').catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'ApiError', status: 404, code: 'lead_not_found', requestId: expect.any(String) });

    const invalid = await client.leads.create({ email: 'nope', stage: 'later', foo: 1 } as never).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ApiError);
    const error = invalid as ApiError;
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(error.issues.map((i) => i.path).sort()).toEqual(['email', 'foo', 'stage']);
  });

  it('throws TransportError when nothing listens', async () => {
    const port = await getFreePort();
    const error = await createClient({ baseUrl: `http://127.0.0.1:${port}`, retry: false }).tasks.get('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', method: 'GET' });
  });
});

describe('batch import', () => {
  it('creates the valid leads of a batch, names the invalid ones, and is idempotent as a whole', async () => {
    const emails = [uniqueEmail('batch'), uniqueEmail('batch')];
    const leads = [{ email: emails[0]! }, { email: 'not-an-email' }, { email: emails[1]!, stage: 'contacted' as const }];
    const key = `client-batch-${emails[0]}`;
    const answer = await client.leads.importBatch(leads, { idempotencyKey: key });
    expect(answer).toMatchObject({ accepted: 2, rejected: 1 });
    expect(answer.items.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(answer.items[1]).toMatchObject({ error: { code: 'invalid_lead', issues: [{ path: 'email' }] } });
    expect(await client.leads.importBatch(leads, { idempotencyKey: key })).toEqual(answer);

    const none = await client.leads.importBatch([{ email: 'x' }, { email: 'y' }]).catch((e: unknown) => e);
    expect(none).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((none as ApiError).issues.map((i) => i.path)).toEqual(['leads.0.email', 'leads.1.email']);
  });
});

describe('automations and runs', () => {
  it('lists definitions, starts a run once per key, reads it, finds it by lead and cancels it', async () => {
    const { items } = await client.automations.list();
    expect(items.map((a) => a.id)).toContain('welcome-nurture');
    expect(await client.automations.get('welcome-nurture')).toMatchObject({ id: 'welcome-nurture', enabled: true });

    const lead = await client.leads.create({ email: uniqueEmail('client-run') });
    await watchToEnd(lead.task_id);
    const key = `client-run-${lead.id}`;
    const run = await client.automations.startRun(lead.id, 'welcome-nurture', { idempotencyKey: key });
    expect(run).toMatchObject({ lead_id: lead.id, automation_id: 'welcome-nurture', status: 'started', deduplicated: false });
    expect(await client.automations.startRun(lead.id, 'welcome-nurture', { idempotencyKey: key })).toMatchObject({ run_id: run.run_id, deduplicated: true });

    expect(await client.runs.get(run.run_id)).toMatchObject({ run_id: run.run_id, lead_id: lead.id });
    await eventually(async () => ((await client.runs.forLead(lead.id)).items.some((r) => r.run_id === run.run_id) ? true : undefined), {
      what: 'the run in visibility',
    });
    expect(await client.runs.cancel(run.run_id)).toEqual({ run_id: run.run_id, status: 'cancelling' });
  });
});
