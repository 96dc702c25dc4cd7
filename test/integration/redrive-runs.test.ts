import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { automationServiceFromConfig, leadServiceFromConfig } from '../../src/api/compose.js';
import { run as ao } from '../../src/cli/run.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Failed and stuck automation runs (#10 item 3): listed, cancelled, retried as a fresh run
// with the same input, on the real dev server with the CRM simulator failing, then
// recovering. Retries are effectively unbounded here, so a run whose CRM step meets a CRM
// that is down stays stuck until it is cancelled; a 422 (non-retryable) fails a run at once.

let h: Harness;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  h = await startHarness({ RETRY_MAX_ATTEMPTS: '1000', RETRY_INITIAL_INTERVAL_MS: '200', RETRY_MAX_INTERVAL_MS: '500', CRM_RESYNC_INTERVAL_MS: '60000' });
  app = await buildApp({ leads: leadServiceFromConfig(h.config, h.client), automations: automationServiceFromConfig(h.config, h.client) });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  await h.startWorker();
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function crmFaults(faults: Record<string, unknown> | null): Promise<void> {
  const res = await fetch(`${h.crm.url}/_sim/faults`, {
    method: faults ? 'POST' : 'DELETE',
    headers: faults ? { 'content-type': 'application/json' } : {},
    body: faults ? JSON.stringify(faults) : undefined,
  });
  expect(res.status).toBe(200);
}

/** A lead already in the CRM, so only the run's own step talks to the CRM afterwards. */
async function syncedLead(): Promise<string> {
  const created = await call(app, 'POST', '/api/leads', { email: uniqueEmail('runs') });
  expect(created.status).toBe(202);
  await eventually(async () => (h.crm.contact(created.body.id) ? true : undefined), { what: 'the lead in the CRM' });
  return created.body.id;
}

async function startHandoff(leadId: string): Promise<string> {
  const started = await call(app, 'POST', `/api/leads/${leadId}/automations/qualified-handoff/runs`);
  expect(started.status).toBe(202);
  return started.body.run_id;
}

const listedRun = (runId: string, status: 'failed' | 'stuck') => async () => {
  const res = await call(app, 'GET', `/api/automation-runs/failed?status=${status}&limit=100`);
  expect(res.status).toBe(200);
  return (res.body.items as Array<{ run_id: string; status: string; retrying: { attempt: number; last_failure: string | null } | null }>).find(
    (item) => item.run_id === runId,
  );
};

/** The `ao` CLI in-process against this file's API, with --json output. */
async function cli(...argv: string[]): Promise<any> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: { AO_URL: baseUrl } };
  const code = await ao([...argv, '--json'], io);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

const handoffWebhooks = (leadId: string) =>
  h.crm.webhooks().filter((w) => {
    const body = w.body as { webhook?: string; lead?: { id?: string } };
    return body.webhook === 'sales-handoff' && body.lead?.id === leadId;
  }).length;

describe('failed and stuck automation runs', () => {
  it('lists a run stuck on a CRM that is down, cancels it, and retries it as a fresh run once the CRM recovers', { timeout: 120_000 }, async () => {
    const leadId = await syncedLead();
    await crmFaults({ down: true });
    const runId = await startHandoff(leadId);
    const stuck = await eventually(listedRun(runId, 'stuck'), { what: 'the run in the stuck list', timeoutMs: 30_000 });
    expect(stuck.status).toBe('running');
    expect(stuck.retrying!.attempt).toBeGreaterThanOrEqual(2);
    expect(stuck.retrying!.last_failure).toMatch(/503/);

    // Running: retry refuses (cancel first), cancel takes it.
    const early = await call(app, 'POST', `/api/automation-runs/${runId}/retry`);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('run_not_retryable');
    expect((await call(app, 'POST', `/api/automation-runs/${runId}/cancel`)).status).toBe(202);
    await eventually(async () => ((await call(app, 'GET', `/api/automation-runs/${runId}`)).body.status === 'cancelled' ? true : undefined), {
      what: 'the run cancelled',
    });
    expect(await listedRun(runId, 'stuck')()).toBeUndefined();

    await crmFaults(null);
    const retried = await call(app, 'POST', `/api/automation-runs/${runId}/retry`, undefined, { 'idempotency-key': 'retry-1' });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ retry_of: runId, status: 'started', deduplicated: false });
    expect(retried.body.run_id).not.toBe(runId);
    expect(retried.body.run_id).toMatch(new RegExp(`^automation-${leadId}-qualified-handoff-`));
    const repeated = await call(app, 'POST', `/api/automation-runs/${runId}/retry`, undefined, { 'idempotency-key': 'retry-1' });
    expect(repeated.body).toMatchObject({ run_id: retried.body.run_id, deduplicated: true });

    // The fresh run gets past the CRM step and hands off to sales once.
    await eventually(async () => (handoffWebhooks(leadId) === 1 ? true : undefined), { what: 'the sales hand-off webhook', timeoutMs: 30_000 });
    const run = await call(app, 'GET', `/api/automation-runs/${retried.body.run_id}`);
    expect(run.body.steps[0]).toMatchObject({ type: 'crm_update', status: 'completed' });
  });

  it('lists a run the CRM failed, and retries it as a fresh run that completes the step', { timeout: 120_000 }, async () => {
    const leadId = await syncedLead();
    await crmFaults({ badRequestNext: 1 });
    const runId = await startHandoff(leadId);
    const failed = await eventually(listedRun(runId, 'failed'), { what: 'the run in the failed list', timeoutMs: 30_000 });
    expect(failed).toMatchObject({ status: 'failed', retrying: null });
    expect(handoffWebhooks(leadId)).toBe(0);

    // Through the CLI this time.
    const listed = await cli('runs', 'failed', '--status', 'failed', '--limit', '100');
    expect(listed.items.map((r: { run_id: string }) => r.run_id)).toContain(runId);
    const retried = await cli('runs', 'retry', runId);
    expect(retried).toMatchObject({ retry_of: runId, status: 'started' });
    await eventually(async () => (handoffWebhooks(leadId) === 1 ? true : undefined), { what: 'the sales hand-off webhook', timeoutMs: 30_000 });
    expect(await listedRun(retried.run_id, 'failed')()).toBeUndefined();
    expect((await call(app, 'POST', '/api/automation-runs/automation-aaaaaaaaaaaaaaaaaaaa-qualified-handoff-aaaaaaaaaaaa/retry')).status).toBe(404);
  });

  it('re-drives a lead the CRM rejected with the ao CLI: listed, retried, synced', { timeout: 60_000 }, async () => {
    await crmFaults({ badRequestNext: 1 });
    const created = await call(app, 'POST', '/api/leads', { email: uniqueEmail('cli-redrive') });
    const id = created.body.id as string;
    await eventually(async () => {
      const page = await cli('leads', 'failed', '--status', 'failed', '--limit', '100');
      return page.items.some((item: { lead: { id: string } }) => item.lead.id === id) ? true : undefined;
    }, { what: 'the lead in ao leads failed', timeoutMs: 30_000 });
    expect(h.crm.contact(id)).toBeUndefined();
    const answer = await cli('leads', 'retry', id);
    expect(answer).toMatchObject({ id, status: 'redriving', crm: 'failed' });
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'the lead in the CRM', timeoutMs: 20_000 });

    const job = await cli('leads', 'retry-all', '--email', 'nobody@nowhere.example', '--idempotency-key', 'cli-1');
    expect(job).toMatchObject({ matched: 0, deduplicated: false });
    const progress = await eventually(async () => {
      const state = await cli('leads', 'retry-job', job.job_id);
      return state.state === 'completed' ? state : undefined;
    }, { what: 'the empty job to complete', timeoutMs: 30_000 });
    expect(progress).toMatchObject({ total: 0, failed: 0 });
  });
});
