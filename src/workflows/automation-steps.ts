import { sleep } from '@temporalio/workflow';
import { describeCondition, evaluateCondition } from '../automations/conditions.js';
import { formatDuration, parseDuration } from '../automations/duration.js';
import { stepTaskId } from '../automations/ids.js';
import type { Step, StepOf, StepType } from '../automations/schema.js';
import { StopRun, type RunContext } from './automation-run-context.js';

// The automation interpreter: one runner per step type. Waits are durable timers, actions
// are activities with readable summaries, and every decision reads the lead as it is at
// that moment. Each runner records its step (begin … finish) in the run's state.
// Workflow code: a runner must schedule the same commands, in the same order, as the
// histories of running automations recorded (test/replay).

export type StepRunner<S extends Step> = (step: S, key: string, run: RunContext) => Promise<void>;

/** Runs steps in order; a step's key is its place (`3`, `3.else.1`), prefixed by its parent's. */
export async function runSteps(steps: Step[], prefix: string, run: RunContext): Promise<void> {
  for (const [i, step] of steps.entries()) await runStep(step, `${prefix}${i + 1}`, run);
}

function runStep(step: Step, key: string, run: RunContext): Promise<void> {
  // The table pairs each type with its runner; TypeScript cannot follow that through the union.
  const runner = STEP_RUNNERS[step.type] as StepRunner<Step>;
  return runner(step, key, run);
}

const STEP_RUNNERS: { [T in StepType]: StepRunner<StepOf<T>> } = {
  async wait(step, key, run) {
    const ms = parseDuration(step.duration)!;
    const record = run.begin(step, key, `wait ${step.duration}`);
    run.waitUntil(record, run.scale(ms));
    await sleep(run.scale(ms), { summary: `wait ${step.duration}${run.scaledNote(ms)}` });
    run.finish(record, 'completed');
  },

  async wait_for(step, key, run) {
    const record = run.begin(step, key, `wait_for ${describeCondition(step.until)} (up to ${step.timeout})`);
    const deadline = Date.now() + run.scale(parseDuration(step.timeout)!);
    const every = run.scale(parseDuration(step.every)!);
    for (let looks = 1; ; looks++) {
      const lead = await run.readLead(`wait_for: ${describeCondition(step.until)}`);
      if (evaluateCondition(step.until, lead)) {
        run.finish(record, 'completed', `matched (look ${looks})`);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      const nap = Math.min(every, left);
      run.waitUntil(record, nap);
      await sleep(nap, { summary: `wait_for: look again in ${formatDuration(nap)}` });
      record.status = 'running';
      run.state.status = 'running';
    }
    run.finish(record, 'completed', 'timed out');
    await runSteps(step.on_timeout, `${key}.on_timeout.`, run);
  },

  async send_email(step, key, run) {
    const summary = `email: ${step.template}`;
    const record = run.begin(step, key, summary);
    const result = await run.act(summary).sendAutomationEmail({
      runId: run.runId,
      stepKey: key,
      leadId: run.leadId,
      automationName: run.automation.definition.name,
      templateName: step.template,
      template: run.automation.templates[step.template]!,
    });
    if (!result.sent) {
      run.finish(record, 'skipped', result.reason);
      throw new StopRun(result.reason === 'unsubscribed' ? 'lead unsubscribed' : 'lead not found');
    }
    run.finish(record, 'completed', `sent ${result.messageId}`);
  },

  async update_lead(step, key, run) {
    const summary = `update_lead: ${describeUpdate(step)}`;
    const record = run.begin(step, key, summary);
    const result = await run.leadUpdate(summary).applyLeadUpdate({
      leadId: run.leadId,
      taskId: stepTaskId(run.leadId, run.runId, key),
      set: step.set,
      addTags: step.add_tags,
      removeTags: step.remove_tags,
    });
    run.finish(record, 'completed', `lead v${result.version} (task ${result.taskId})`);
  },

  async crm_update(step, key, run) {
    const record = run.begin(step, key, 'crm_update');
    const { crm: _own, ...lead } = await run.readLead('crm_update: read lead');
    const result = await run.crm(`crm_update v${lead.version}`).syncLeadToCrm({ leadId: run.leadId, version: lead.version, lead });
    run.finish(record, 'completed', `CRM at v${result.version}${result.stale ? ' (it already had this version)' : ''}`);
  },

  async score(step, key, run) {
    const record = run.begin(step, key, `score → custom.${step.into}`);
    const lead = await run.readLead(`score: read lead`);
    let score = step.base === 'lead_score' ? lead.score : step.base;
    for (const rule of step.rules) if (evaluateCondition(rule.if, lead)) score += rule.points;
    score = Math.max(step.min, Math.min(step.max, score));
    const result = await run.leadUpdate(`score: custom.${step.into} = ${score}`).applyLeadUpdate({
      leadId: run.leadId,
      taskId: stepTaskId(run.leadId, run.runId, key),
      custom: { [step.into]: score },
    });
    run.finish(record, 'completed', `custom.${step.into} = ${score} (lead v${result.version})`);
  },

  async branch(step, key, run) {
    const condition = describeCondition(step.if);
    const record = run.begin(step, key, `branch: if ${condition}`);
    const lead = await run.readLead(`branch: if ${condition}`);
    const taken = evaluateCondition(step.if, lead) ? 'then' : 'else';
    run.finish(record, 'completed', `took ${taken}`);
    await runSteps(step[taken], `${key}.${taken}.`, run);
  },

  async webhook(step, key, run) {
    const summary = `webhook: ${step.name}`;
    const record = run.begin(step, key, summary);
    const result = await run.act(summary).postWebhook({
      runId: run.runId,
      stepKey: key,
      leadId: run.leadId,
      automationId: run.automation.id,
      name: step.name,
      url: step.url,
      payload: step.payload,
      headers: step.headers,
      secretEnv: step.secret_env,
    });
    run.finish(record, 'completed', `HTTP ${result.status}`);
  },

  async stop(step, key, run) {
    const record = run.begin(step, key, `stop${step.reason ? `: ${step.reason}` : ''}`);
    run.finish(record, 'completed');
    throw new StopRun(step.reason ?? 'stop step');
  },
};

/** `stage=qualified, +hot, -cold`: an update_lead step's changes, as its summary shows them. */
function describeUpdate(step: StepOf<'update_lead'>): string {
  return [
    ...Object.entries(step.set ?? {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`),
    ...(step.add_tags ?? []).map((t) => `+${t}`),
    ...(step.remove_tags ?? []).map((t) => `-${t}`),
  ].join(', ');
}
