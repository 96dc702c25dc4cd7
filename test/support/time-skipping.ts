import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { workflowSettingsFromConfig } from '../../src/api/compose.js';
import { automationRunId, runKeyOfTask } from '../../src/automations/ids.js';
import { loadConfig, type Config } from '../../src/config.js';
import { leadIdForEmail, leadWorkflowId, newTaskId } from '../../src/domain/ids.js';
import type { LeadInput, LeadPatch, LeadView } from '../../src/domain/lead.js';
import { startCrmSimulator, type CrmSimulator } from '../../tooling/simulators/crm-simulator.js';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../../tooling/simulators/smtp-sink.js';
import { LEAD_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { INDEXED_VALUE_TYPES } from '../../tooling/temporal/search-attributes.js';
import { automationRunQuery, type AutomationRunState } from '../../src/temporal/automation-messages.js';
import { leadWorkflow } from '../../src/workflows/index.js';
import { leadChangeSignal, leadQuery, type LeadWorkflowInput } from '../../src/temporal/lead-messages.js';
import { activityDepsFromConfig, createWorkers } from '../../worker/workers.js';
import './harness.js'; // quiet Runtime logger
import { eventually } from './harness.js';

// The real workers (lead workflow, automation runs, activities, CRM simulator, SMTP sink)
// on Temporal's time-skipping test server: while a test awaits a run's result, the server
// jumps over timers, so a sequence that waits seven days finishes in seconds, with the
// definitions' real durations (AUTOMATION_TIME_SCALE=1).


const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function testServerBinary(): string {
  const recorded = () => {
    try {
      const path = readFileSync(`${ROOT}.tools/temporal-test-server-path`, 'utf8').trim();
      return existsSync(path) ? path : undefined;
    } catch {
      return undefined;
    }
  };
  const found = recorded();
  if (found) return found;
  // Not installed yet (`npm test` does it; a bare `npx vitest` may not have): install now.
  execFileSync(process.execPath, [`${ROOT}scripts/ensure-test-server.mjs`], { stdio: 'inherit' });
  return recorded()!;
}

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  config: Config;
  crm: CrmSimulator;
  smtp: SmtpSink;
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  createLead(fields: LeadInput): Promise<{ leadId: string; taskId: string }>;
  patchLead(leadId: string, fields: LeadPatch): Promise<string>;
  lead(leadId: string): Promise<LeadView>;
  run(runId: string): WorkflowHandle;
  runIdOf(leadId: string, automationId: string, taskId: string): string;
  /** Polls the run's query until `check` holds (time does not skip meanwhile). */
  runState(runId: string, check: (s: AutomationRunState) => boolean, what: string): Promise<AutomationRunState>;
  mailTo(email: string): SinkMessage[];
  close(): Promise<void>;
}

export async function startTimeSkippingStack(env: Record<string, string> = {}): Promise<TimeSkippingStack> {
  const testEnv = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerBinary() } },
  });
  // The test server has addSearchAttributes but not listSearchAttributes.
  await testEnv.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(Object.entries(LEAD_SEARCH_ATTRIBUTES).map(([name, kind]) => [name, INDEXED_VALUE_TYPES[kind]])),
  });
  const crm = await startCrmSimulator({ port: 0 });
  const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
  const suffix = randomBytes(4).toString('hex');
  const config = loadConfig({
    TEMPORAL_TASK_QUEUE: `ts-leads-${suffix}`,
    TEMPORAL_CRM_TASK_QUEUE: `ts-leads-crm-${suffix}`,
    CRM_BASE_URL: crm.url,
    CRM_TIMEOUT_MS: '2000',
    CRM_RATE_LIMIT_PER_SECOND: '0',
    SMTP_PORT: String(smtp.smtpPort),
    RETRY_INITIAL_INTERVAL_MS: '100',
    RETRY_MAX_INTERVAL_MS: '500',
    RETRY_MAX_ATTEMPTS: '4',
    ...env,
  });
  const deps = activityDepsFromConfig(config);
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;

  const stack: TimeSkippingStack = {
    env: testEnv,
    config,
    crm,
    smtp,
    async startWorkers() {
      if (running) return;
      workers = await createWorkers(config, testEnv.nativeConnection, deps, { shutdownGraceTime: '1s' });
      running = Promise.all(workers.map((w) => w.run()));
    },
    async stopWorkers() {
      if (!running) return;
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      running = undefined;
    },
    async createLead(fields) {
      const leadId = leadIdForEmail(fields.email);
      const taskId = newTaskId(leadId, 'create');
      const input: LeadWorkflowInput = {
        leadId,
        settings: workflowSettingsFromConfig(config),
        initial: { task_id: taskId, op: 'create', fields, received_at: new Date().toISOString() },
      };
      await testEnv.client.workflow.start(leadWorkflow, {
        workflowId: leadWorkflowId(leadId),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
      });
      return { leadId, taskId };
    },
    async patchLead(leadId, fields) {
      const taskId = newTaskId(leadId, 'patch');
      await testEnv.client.workflow
        .getHandle(leadWorkflowId(leadId))
        .signal(leadChangeSignal, { task_id: taskId, op: 'patch', fields, received_at: new Date().toISOString() });
      return taskId;
    },
    async lead(leadId) {
      return (await testEnv.client.workflow.getHandle(leadWorkflowId(leadId)).query(leadQuery))!;
    },
    run: (runId) => testEnv.client.workflow.getHandle(runId),
    runIdOf: (leadId, automationId, taskId) => automationRunId(leadId, automationId, runKeyOfTask(taskId)),
    runState(runId, check, what) {
      return eventually(
        async () => {
          const state = await testEnv.client.workflow.getHandle(runId).query(automationRunQuery);
          return check(state) ? state : undefined;
        },
        { what, timeoutMs: 30_000, intervalMs: 100 },
      );
    },
    mailTo(email) {
      return smtp.messages().filter((m) => m.to.includes(email));
    },
    async close() {
      await stack.stopWorkers();
      deps.mailer.close();
      await crm.close();
      await smtp.close();
      await testEnv.teardown();
    },
  };
  return stack;
}
