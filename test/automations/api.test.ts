import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { automationServiceFromConfig, leadServiceFromConfig } from '../../src/api/compose.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// The automation API on the real dev server and real workers, with the shipped definitions
// and AUTOMATION_TIME_SCALE=0.00001 (`wait 2d` takes 1.7 s, `wait 5d` 4.3 s): the honest
// way to show runs, cancellation, worker restarts and visibility listing, which the
// time-skipping server does not fully implement.

let h: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  h = await startHarness({ AUTOMATION_TIME_SCALE: '0.00001' });
  app = await buildApp({ leads: leadServiceFromConfig(h.config, h.client), automations: automationServiceFromConfig(h.config, h.client) });
  await h.startWorker();
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

function expectError(res: { status: number; body: any }, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toMatchObject({ code, message: expect.any(String), issues: expect.any(Array), request_id: expect.any(String) });
}

async function newLead(fields: Record<string, unknown> = {}): Promise<{ id: string; email: string }> {
  const email = uniqueEmail('auto');
  const created = await call(app, 'POST', '/api/leads', { email, ...fields });
  expect(created.status).toBe(202);
  await eventually(async () => ((await call(app, 'GET', `/api/leads/${created.body.id}`)).body.version >= 1 ? true : undefined), { what: 'the lead' });
  return { id: created.body.id, email: email.toLowerCase() };
}

const runUntil = (runId: string, check: (run: any) => boolean, what: string, timeoutMs = 40_000) =>
  eventually(
    async () => {
      const res = await call(app, 'GET', `/api/automation-runs/${runId}`);
      return res.status === 200 && check(res.body) ? res.body : undefined;
    },
    { what, timeoutMs, intervalMs: 100 },
  );

describe('definitions', () => {
  it('lists and shows the automations, with the hash new runs are pinned to', async () => {
    const list = await call(app, 'GET', '/api/automations');
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { id: string }) => a.id).sort()).toEqual(['qualified-handoff', 'welcome-nurture']);
    const nurture = await call(app, 'GET', '/api/automations/welcome-nurture');
    expect(nurture.status).toBe(200);
    expect(nurture.body).toMatchObject({
      id: 'welcome-nurture',
      enabled: true,
      trigger: { event: 'lead.created' },
      templates: ['follow-up-1', 'nurture-welcome'],
      definition_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      definition: { steps: expect.arrayContaining([{ type: 'wait', duration: '2d' }]) },
    });
    expectError(await call(app, 'GET', '/api/automations/no-such-thing'), 404, 'automation_not_found');
    expectError(await call(app, 'GET', '/api/automations/Not_An_Id'), 400, 'invalid_request');
  });
});

describe('runs', () => {
  it('starts a run by hand once per Idempotency-Key, shows its progress, and resumes it after a worker restart', async () => {
    const lead = await newLead({ first_name: 'Mia', company: 'Manual Co', source: 'referral' });
    const headers = { 'idempotency-key': `manual-${lead.id}` };
    const started = await call(app, 'POST', `/api/leads/${lead.id}/automations/welcome-nurture/runs`, undefined, headers);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ automation_id: 'welcome-nurture', lead_id: lead.id, status: 'started', deduplicated: false });
    expect(started.headers.location).toBe(`/api/automation-runs/${started.body.run_id}`);
    const again = await call(app, 'POST', `/api/leads/${lead.id}/automations/welcome-nurture/runs`, undefined, headers);
    expect(again.body).toMatchObject({ run_id: started.body.run_id, deduplicated: true });
    const runId: string = started.body.run_id;

    const waiting = await runUntil(runId, (r) => r.status === 'waiting' && r.current_step?.key === '2', 'the run to wait 2 days');
    expect(waiting).toMatchObject({
      automation_id: 'welcome-nurture',
      trigger: { event: 'manual', task_id: null },
      time_scale: 0.00001,
      current_step: { key: '2', type: 'wait', summary: 'wait 2d', status: 'waiting' },
      next_wake_up: expect.any(String),
      read_source: 'workflow',
    });
    expect(waiting.steps).toEqual([expect.objectContaining({ key: '1', status: 'completed', started_at: expect.any(String), finished_at: expect.any(String) })]);

    // Restart the worker while the run waits: its timer is Temporal's, and a new worker resumes it.
    await h.stopWorker();
    await h.startWorker();
    const done = await runUntil(runId, (r) => r.status === 'completed', 'the run to complete');
    expect(done.steps.map((s: { key: string }) => s.key)).toEqual(['1', '2', '3', '3.else.1', '4', '5', '6', '6.then.1', '6.then.2', '6.then.3']);
    const mails = h.smtp.messages().filter((m) => m.to.includes(lead.email));
    expect(mails.map((m) => m.subject)).toEqual([
      'Welcome, Mia',
      'Getting started at Manual Co: three things to try first',
      'Mia, did you get a chance to look around?',
    ]);

    // The lead's runs, from visibility; the final status comes from the run's memo.
    const runs = await eventually(async () => {
      const res = await call(app, 'GET', `/api/leads/${lead.id}/automation-runs`);
      return res.body.items?.some((r: { status: string }) => r.status === 'completed') ? res.body : undefined;
    }, { what: 'the run in the listing' });
    expect(runs.items).toEqual([expect.objectContaining({ run_id: runId, automation_id: 'welcome-nurture', trigger: 'manual', status: 'completed' })]);
  });

});

// Independent leads, so these run side by side.
describe.concurrent('runs and links', () => {
  it('cancels a waiting run; a finished run cannot be cancelled; unknown ids are 404', async () => {
    const lead = await newLead();
    const started = await call(app, 'POST', `/api/leads/${lead.id}/automations/welcome-nurture/runs`);
    const runId: string = started.body.run_id;
    await runUntil(runId, (r) => r.status === 'waiting', 'the run to wait');
    const cancelled = await call(app, 'POST', `/api/automation-runs/${runId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toEqual({ run_id: runId, status: 'cancelling' });
    const run = await runUntil(runId, (r) => r.status === 'cancelled', 'the run to be cancelled');
    expect(run.steps.at(-1)).toMatchObject({ key: '2', status: 'cancelled' });
    expectError(await call(app, 'POST', `/api/automation-runs/${runId}/cancel`), 409, 'run_finished');
    await new Promise((r) => setTimeout(r, 2500)); // past the 2-day wait at this scale
    expect(h.smtp.messages().filter((m) => m.to.includes(lead.email))).toHaveLength(2);

    const unknownRun = `automation-${lead.id}-welcome-nurture-aaaaaaaaaaaa`;
    expectError(await call(app, 'GET', `/api/automation-runs/${unknownRun}`), 404, 'run_not_found');
    expectError(await call(app, 'POST', `/api/automation-runs/${unknownRun}/cancel`), 404, 'run_not_found');
    expectError(await call(app, 'GET', '/api/automation-runs/not-a-run'), 400, 'invalid_request');
    expectError(await call(app, 'POST', '/api/leads/aaaaaaaaaaaaaaaaaaaa/automations/welcome-nurture/runs'), 404, 'lead_not_found');
    expectError(await call(app, 'POST', `/api/leads/${lead.id}/automations/nope/runs`), 404, 'automation_not_found');
    expectError(await call(app, 'GET', '/api/leads/aaaaaaaaaaaaaaaaaaaa/automation-runs'), 404, 'lead_not_found');
  });

  it('starts both examples from lead changes, end to end: nurture qualifies, a stage change hands off', async () => {
    const nurtured = await newLead({ first_name: 'Nia', company: 'Nurture Works', source: 'webinar', tags: ['nurture', 'webinar'] });
    const qualified = await newLead({ first_name: 'Quin' });
    const patched = await call(app, 'PATCH', `/api/leads/${qualified.id}`, { stage: 'qualified' });
    expect(patched.status).toBe(202);

    const runOf = (leadId: string, automation: string) =>
      eventually(async () => {
        const res = await call(app, 'GET', `/api/leads/${leadId}/automation-runs`);
        return res.body.items?.find((r: { automation_id: string }) => r.automation_id === automation);
      }, { what: `a ${automation} run` });
    const [nurtureRun, handoffRun] = await Promise.all([runOf(nurtured.id, 'welcome-nurture'), runOf(qualified.id, 'qualified-handoff')]);
    expect(nurtureRun).toMatchObject({ trigger: 'lead.created' });
    expect(handoffRun).toMatchObject({ trigger: 'lead.updated' });

    const [nurture, handoff] = await Promise.all([
      runUntil(nurtureRun.run_id, (r) => r.status === 'completed', 'the nurture run'),
      runUntil(handoffRun.run_id, (r) => r.status === 'completed', 'the hand-off run'),
    ]);
    expect(nurture.steps.at(-1)).toMatchObject({ key: '6.then.3', summary: 'webhook: sales-new-qualified', outcome: 'HTTP 200' });
    expect(handoff.steps.map((s: { summary: string }) => s.summary)).toEqual([
      'crm_update',
      'webhook: sales-handoff',
      'email: handoff-intro',
      'wait_for stage in [contacted, customer] (up to 3d)',
      'webhook: sales-escalation',
      'update_lead: +handoff-escalated',
    ]);
    const nurturedLead = (await call(app, 'GET', `/api/leads/${nurtured.id}`)).body;
    expect(nurturedLead).toMatchObject({ stage: 'qualified', tags: ['nurture', 'nurture-qualified', 'webinar'] });
    // Tagged nurture-qualified: the hand-off automation stayed out of it.
    const nurturedRuns = (await call(app, 'GET', `/api/leads/${nurtured.id}/automation-runs`)).body.items;
    expect(nurturedRuns.map((r: { automation_id: string }) => r.automation_id)).toEqual(['welcome-nurture']);
    expect((await call(app, 'GET', `/api/leads/${qualified.id}`)).body.tags).toEqual(['handoff-escalated']);
    const hooks = h.crm.webhooks().filter((w) => [nurtured.id, qualified.id].includes((w.body as { lead: { id: string } }).lead.id));
    expect(hooks.map((w) => (w.body as { webhook: string }).webhook).sort()).toEqual(['sales-escalation', 'sales-handoff', 'sales-new-qualified']);
    expect(hooks.every((w) => !w.duplicate)).toBe(true);
  });

  it('unsubscribe links confirm on GET, unsubscribe on POST and refuse a forged token', async () => {
    const lead = await newLead();
    const started = await call(app, 'POST', `/api/leads/${lead.id}/automations/welcome-nurture/runs`);
    await runUntil(started.body.run_id, (r) => r.status === 'waiting', 'the first email');
    const mail = h.smtp.messages().find((m) => m.to.includes(lead.email) && m.messageId.startsWith(started.body.run_id))!;
    const link = new URL(/<([^>]+)>/.exec(mail.headers['list-unsubscribe']!)![1]!);
    const path = `${link.pathname}${link.search}`;

    const page = await app.inject({ method: 'GET', url: path });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<form method="post"');
    expect((await call(app, 'GET', `/api/leads/${lead.id}`)).body.unsubscribed).toBe(false);

    const forged = await app.inject({ method: 'POST', url: path.replace(/token=[^&]+/, `token=${'A'.repeat(32)}`) });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.code).toBe('invalid_unsubscribe_link');

    // RFC 8058 one-click: a form-encoded POST to the same URL.
    const done = await app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(done.statusCode).toBe(200);
    await eventually(async () => ((await call(app, 'GET', `/api/leads/${lead.id}`)).body.unsubscribed === true ? true : undefined), {
      what: 'the lead to be unsubscribed',
    });
    // The run stops at its next email step instead of sending the follow-up.
    const run = await runUntil(started.body.run_id, (r) => r.status === 'stopped', 'the run to stop');
    expect(run).toMatchObject({ stop_reason: 'lead unsubscribed' });
    expect(h.smtp.messages().filter((m) => m.to.includes(lead.email))).toHaveLength(2);
  });
});
