import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepTaskId } from '../../src/automations/ids.js';
import { automationRunQuery, type AutomationRunState } from '../../src/temporal/automation-messages.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../support/time-skipping.js';

// Both shipped automations, run by the real workers on the time-skipping test server with
// their real durations: the days of waiting pass in seconds. A step that misbehaves shows
// up as a wrong outcome, a missing or extra email, webhook or CRM write, or a lead state.

const DAY = 86_400_000;
let s: TimeSkippingStack;
let counter = 0;
const email = (tag: string) => `${tag}.${Date.now().toString(36)}.${++counter}@engines.example`;

beforeAll(async () => {
  s = await startTimeSkippingStack();
  await s.startWorkers();
});
afterAll(async () => {
  await s?.close();
});

const outcomes = (state: AutomationRunState) => state.steps.map((step) => `${step.key} ${step.summary} → ${step.status}${step.outcome ? ` (${step.outcome})` : ''}`);
const subjects = (address: string) => s.mailTo(address).map((m) => m.subject);
const waitingAt = (key: string) => (state: AutomationRunState) => state.status === 'waiting' && state.current_step?.key === key;

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * Replays a workflow's history against the current workflow code (determinism). With
 * RECORD_REPLAY_HISTORIES=1 it also stores it in test/replay/histories/, which
 * test/replay/replay.test.ts replays on every run from then on.
 */
async function replay(runId: string, record?: string): Promise<void> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  const history = await s.run(runId).fetchHistory();
  if (record && process.env.RECORD_REPLAY_HISTORIES === '1') {
    writeFileSync(new URL(`../replay/histories/${record}.json`, import.meta.url), `${historyToJSON(history)}\n`);
  }
  await Worker.runReplayHistory({ workflowBundle: await bundle }, history, runId);
}

describe('welcome-nurture', () => {
  it('takes the qualify path for a strong lead: two emails, 7 days, score, qualify, CRM, webhook', async () => {
    const address = email('strong');
    const startedAt = await s.env.currentTimeMs();
    const realStart = Date.now();
    const { leadId, taskId } = await s.createLead({
      email: address,
      first_name: 'Ada',
      company: 'Engines <b>& Co</b>',
      source: 'webinar',
      tags: ['nurture', 'webinar'],
    });
    const runId = s.runIdOf(leadId, 'welcome-nurture', taskId);
    const waiting = await s.runState(runId, waitingAt('2'), 'the run to wait 2 days');
    expect(waiting.steps.map((x) => x.key)).toEqual(['1']);
    expect(Date.parse(waiting.next_wake_up!) - Date.parse(waiting.current_step!.started_at)).toBe(2 * DAY);

    const result = (await s.run(runId).result()) as AutomationRunState;
    expect(result.status).toBe('completed');
    expect(outcomes(result)).toEqual([
      expect.stringMatching(/^1 email: nurture-welcome → completed \(sent <.+\.1@leads\.example\.com>\)$/),
      '2 wait 2d → completed',
      '3 branch: if stage in [contacted, qualified, customer] → completed (took else)',
      expect.stringMatching(/^3\.else\.1 email: follow-up-1 → completed/),
      '4 wait 5d → completed',
      expect.stringMatching(/^5 score → custom\.nurture_score → completed \(custom\.nurture_score = 75 \(lead v2\)\)$/),
      '6 branch: if custom.nurture_score >= 60 → completed (took then)',
      expect.stringMatching(/^6\.then\.1 update_lead: stage=qualified, \+nurture-qualified → completed \(lead v3/),
      expect.stringMatching(/^6\.then\.2 crm_update → completed \(CRM at v3/),
      '6.then.3 webhook: sales-new-qualified → completed (HTTP 200)',
    ]);
    // Seven days of waiting passed on the server's clock, in seconds of real time.
    expect((await s.env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(7 * DAY);
    expect(Date.now() - realStart).toBeLessThan(60_000);
    const wokeAt = Date.parse(result.steps[2]!.started_at);
    expect(wokeAt - Date.parse(result.steps[1]!.started_at)).toBeGreaterThanOrEqual(2 * DAY);

    // Emails: the built-in welcome, then the sequence's two, each once; user fields escaped in HTML.
    expect(subjects(address)).toEqual([
      'Welcome, Ada',
      'Getting started at Engines <b>& Co</b>: three things to try first',
      'Ada, did you get a chance to look around?',
    ]);
    const mail = s.mailTo(address)[1]!;
    expect(mail.html).toContain('Engines &lt;b&gt;&amp; Co&lt;/b&gt;');
    expect(mail.html).not.toContain('<b>');
    expect(mail.text).toMatch(/Unsubscribe: http:\/\/127\.0\.0\.1:3000\/unsubscribe\?lead=[a-z2-7]{20}&token=[\w-]{32}/);
    expect(mail.headers['list-unsubscribe']).toMatch(/^<http:\/\/127\.0\.0\.1:3000\/unsubscribe\?lead=/);
    expect(mail.messageId).toBe(`${runId}.1@leads.example.com`);

    // The lead, the CRM and the sales webhook.
    const lead = await s.lead(leadId);
    expect(lead).toMatchObject({ stage: 'qualified', version: 3, custom: { nurture_score: expect.any(Number) } });
    expect(lead.tags).toEqual(['nurture', 'nurture-qualified', 'webinar']);
    expect(s.crm.contact(leadId)).toMatchObject({ version: 3, lead: { stage: 'qualified' } });
    const hooks = s.crm.webhooks().filter((w) => (w.body as { lead: { id: string } }).lead.id === leadId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ name: 'sales', idempotencyKey: `${runId}:6.then.3`, duplicate: false });
    expect(hooks[0]!.body).toMatchObject({ webhook: 'sales-new-qualified', automation_id: 'welcome-nurture', lead: { stage: 'qualified' }, data: { reason: 'nurture score reached 60' } });

    // The qualify step tagged the lead, so the hand-off automation did not notify sales twice.
    const handoff = s.runIdOf(leadId, 'qualified-handoff', stepTaskId(leadId, runId, '6.then.1'));
    await expect(s.run(handoff).describe()).rejects.toThrow(/not found/i);

    await replay(runId, 'automation-welcome-nurture');
    // The lead's own history: the automation-triggers patch marker and the child start.
    await replay(`lead-${leadId}`, 'automation-trigger-lead');
  });

  it('skips the follow-up for a lead sales contacted, and stops a weak lead at the score', async () => {
    const address = email('weak');
    const { leadId, taskId } = await s.createLead({ email: address.replace('@engines.example', '@gmail.com'), tags: ['nurture'] });
    const runId = s.runIdOf(leadId, 'welcome-nurture', taskId);
    await s.runState(runId, waitingAt('2'), 'the run to wait 2 days');
    await s.patchLead(leadId, { stage: 'contacted' });
    await expect.poll(async () => (await s.lead(leadId)).stage).toBe('contacted');

    const result = (await s.run(runId).result()) as AutomationRunState;
    expect(result).toMatchObject({ status: 'stopped', stop_reason: 'nurture score below 60' });
    expect(outcomes(result)).toEqual([
      expect.stringMatching(/^1 email: nurture-welcome → completed/),
      '2 wait 2d → completed',
      '3 branch: if stage in [contacted, qualified, customer] → completed (took then)',
      '4 wait 5d → completed',
      expect.stringMatching(/^5 score → custom\.nurture_score → completed \(custom\.nurture_score = \d\d? /),
      '6 branch: if custom.nurture_score >= 60 → completed (took else)',
      '6.else.1 stop: nurture score below 60 → completed',
    ]);
    const lead = await s.lead(leadId);
    expect(lead.stage).toBe('contacted');
    expect((lead.custom?.nurture_score as number) < 60).toBe(true);
    expect(subjects(lead.email)).toEqual(['Welcome, there', 'Getting started: three things to try first']);
  });

  it('stops at the next email step when the lead unsubscribes mid-sequence', async () => {
    const address = email('unsub');
    const { leadId, taskId } = await s.createLead({ email: address, first_name: 'Uma', tags: ['nurture'] });
    const runId = s.runIdOf(leadId, 'welcome-nurture', taskId);
    await s.runState(runId, waitingAt('2'), 'the run to wait 2 days');
    await s.patchLead(leadId, { unsubscribed: true });
    await expect.poll(async () => (await s.lead(leadId)).unsubscribed).toBe(true);

    const result = (await s.run(runId).result()) as AutomationRunState;
    expect(result).toMatchObject({ status: 'stopped', stop_reason: 'lead unsubscribed' });
    expect(outcomes(result).slice(-2)).toEqual([
      '3 branch: if stage in [contacted, qualified, customer] → completed (took else)',
      '3.else.1 email: follow-up-1 → skipped (unsubscribed)',
    ]);
    expect(subjects(address)).toEqual(['Welcome, Uma', 'Getting started: three things to try first']);
  });

  it('cancelling a waiting run stops it: no later step runs', async () => {
    const address = email('cancel');
    const { leadId, taskId } = await s.createLead({ email: address, tags: ['nurture'] });
    const runId = s.runIdOf(leadId, 'welcome-nurture', taskId);
    await s.runState(runId, waitingAt('2'), 'the run to wait 2 days');
    await s.run(runId).cancel();
    const failure = await s.run(runId).result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await s.run(runId).describe()).status.name).toBe('CANCELLED');
    await s.env.sleep(10 * DAY); // well past every wait of the sequence
    const state = await s.run(runId).query(automationRunQuery);
    expect(state).toMatchObject({ status: 'cancelled', stop_reason: 'cancelled', current_step: null, next_wake_up: null });
    expect(outcomes(state)).toEqual([expect.stringMatching(/^1 email: nurture-welcome → completed/), '2 wait 2d → cancelled']);
    expect(subjects(address)).toHaveLength(2);
    await replay(runId, 'automation-cancelled');
  });
});

describe('qualified-handoff', () => {
  it('notifies sales, introduces the specialist, and escalates when nobody makes contact in 3 days', async () => {
    const address = email('handoff');
    const { leadId } = await s.createLead({ email: address, first_name: 'Hal', company: 'Hand Off Inc' });
    await expect.poll(async () => (await s.lead(leadId)).version).toBe(1);
    const trigger = await s.patchLead(leadId, { stage: 'qualified' });
    const runId = s.runIdOf(leadId, 'qualified-handoff', trigger);
    const waiting = await s.runState(runId, waitingAt('4'), 'the run to wait for contact');
    expect(waiting.current_step!.summary).toBe('wait_for stage in [contacted, customer] (up to 3d)');
    // Qualifying again while qualified does not start a second run.
    const again = await s.patchLead(leadId, { stage: 'qualified', company: 'Hand Off Inc.' });
    await expect.poll(async () => (await s.lead(leadId)).version).toBe(3);

    const result = (await s.run(runId).result()) as AutomationRunState;
    expect(result.status).toBe('completed');
    expect(outcomes(result)).toEqual([
      expect.stringMatching(/^1 crm_update → completed \(CRM at v2/),
      '2 webhook: sales-handoff → completed (HTTP 200)',
      expect.stringMatching(/^3 email: handoff-intro → completed/),
      '4 wait_for stage in [contacted, customer] (up to 3d) → completed (timed out)',
      '4.on_timeout.1 webhook: sales-escalation → completed (HTTP 200)',
      expect.stringMatching(/^4\.on_timeout\.2 update_lead: \+handoff-escalated → completed/),
    ]);
    await expect(s.run(s.runIdOf(leadId, 'qualified-handoff', again)).describe()).rejects.toThrow(/not found/i);
    const hooks = s.crm.webhooks().filter((w) => (w.body as { lead: { id: string } }).lead.id === leadId);
    expect(hooks.map((h) => [(h.body as { webhook: string }).webhook, h.idempotencyKey])).toEqual([
      ['sales-handoff', `${runId}:2`],
      ['sales-escalation', `${runId}:4.on_timeout.1`],
    ]);
    expect((await s.lead(leadId)).tags).toEqual(['handoff-escalated']);
    expect(subjects(address)).toEqual(['Welcome, Hal', 'Hal, meet your specialist']);
    await replay(runId, 'automation-qualified-handoff');
  });

  it('ends the wait as soon as sales contacts the lead: no escalation', async () => {
    const address = email('contacted');
    const { leadId } = await s.createLead({ email: address });
    await expect.poll(async () => (await s.lead(leadId)).version).toBe(1);
    const trigger = await s.patchLead(leadId, { stage: 'qualified' });
    const runId = s.runIdOf(leadId, 'qualified-handoff', trigger);
    await s.runState(runId, waitingAt('4'), 'the run to wait for contact');
    await s.patchLead(leadId, { stage: 'contacted' });
    await expect.poll(async () => (await s.lead(leadId)).stage).toBe('contacted');

    const result = (await s.run(runId).result()) as AutomationRunState;
    expect(result.status).toBe('completed');
    expect(outcomes(result).at(-1)).toMatch(/^4 wait_for stage in \[contacted, customer\] \(up to 3d\) → completed \(matched \(look 2\)\)$/);
    const names = s.crm.webhooks().filter((w) => (w.body as { lead: { id: string } }).lead.id === leadId).map((w) => w.name);
    expect(names).toEqual(['sales']);
    expect((await s.lead(leadId)).tags ?? []).toEqual([]);
  });
});
