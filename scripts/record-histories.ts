import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/api/app.js';
import { leadServiceFromConfig } from '../src/api/compose.js';
import { loadConfig, type Config } from '../src/config.js';
import { idempotencyRecordId, leadWorkflowId } from '../src/domain/ids.js';
import { startCrmSimulator } from '../tooling/simulators/crm-simulator.js';
import { startSmtpSink } from '../tooling/simulators/smtp-sink.js';
import { startDevServer } from '../tooling/temporal/dev-server.js';
import { activityDepsFromConfig, createWorkers } from '../worker/workers.js';

// `npm run histories:record`: runs representative lead scenarios against a private,
// in-memory Temporal dev server with a real worker (built workflow bundle), then writes
// each workflow's history as JSON into test/replay/histories/<label>/<scenario>.json.
// test/replay/replay.test.ts replays every stored history against the current workflow
// code, so a change that would break running workflows fails the build.
//
// Read docs/workflow-versioning.md first: new histories are ADDED next to the old ones
// (a new label), never written over them to make a failing replay pass.
//
//   npm run histories:record                        # label = today (UTC), all scenarios
//   npm run histories:record -- --label v2 --only create,rapid-updates
//   npm run histories:record -- --address 127.0.0.1:7233   # an already running server

const SCENARIOS = [
  'create',
  'unsubscribed',
  'rapid-updates',
  'crm-retry-recovery',
  'crm-rejected-resync',
  'welcome-rejected-repair',
  'continue-as-new',
  'duplicate-signal',
  'crm-changes',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: new Date().toISOString().slice(0, 10) },
    out: { type: 'string' },
    only: { type: 'string' },
    address: { type: 'string' },
  },
});

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above this script');
    dir = parent;
  }
  return dir;
}

const label = args.label;
if (!/^[A-Za-z0-9._-]+$/.test(label)) throw new Error(`--label must be a plain name, got ${JSON.stringify(label)}`);
const outDir = resolve(args.out ?? join(repoRoot(), 'test', 'replay', 'histories', label));
const only = args.only ? args.only.split(',').map((s) => s.trim()) : [...SCENARIOS];
for (const name of only) if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.join(', ')}`);

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const devServer = args.address ? undefined : await startDevServer({ headless: true });
const address = args.address ?? devServer!.address;
const crm = await startCrmSimulator({ port: 0 });
const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
const suffix = Math.random().toString(36).slice(2, 8);
const env = {
  TEMPORAL_ADDRESS: address,
  TEMPORAL_TASK_QUEUE: `record-${suffix}`,
  TEMPORAL_CRM_TASK_QUEUE: `record-crm-${suffix}`,
  CRM_BASE_URL: crm.url,
  CRM_TIMEOUT_MS: '2000',
  CRM_RATE_LIMIT_PER_SECOND: '0',
  SMTP_PORT: String(smtp.smtpPort),
  // Short retries and resyncs, so failure scenarios finish in seconds and stay small.
  RETRY_INITIAL_INTERVAL_MS: '100',
  RETRY_MAX_INTERVAL_MS: '300',
  RETRY_MAX_ATTEMPTS: '20',
  CRM_RESYNC_INTERVAL_MS: '500',
};
const config: Config = loadConfig(env);
const connection = await Connection.connect({ address });
const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
const app = await buildApp({ leads: leadServiceFromConfig(config, client) });
// The lowest threshold the configuration allows, for the continue-as-new scenario only.
const canApp = await buildApp({ leads: leadServiceFromConfig(loadConfig({ ...env, CONTINUE_AS_NEW_AFTER_EVENTS: '100' }), client) });
const nativeConnection = await NativeConnection.connect({ address });
const deps = activityDepsFromConfig(config);
const workers: Worker[] = await createWorkers(config, nativeConnection, deps, { shutdownGraceTime: '1s' });
const running = Promise.all(workers.map((w) => w.run()));

async function api(target: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await target.inject({
    method,
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.statusCode >= 500) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

const email = (tag: string) => `replay.${tag}.${suffix}@example.com`;

async function taskDone(taskId: string, target = app): Promise<Record<string, any>> {
  return until(`task ${taskId}`, async () => {
    const res = await api(target, 'GET', `/api/tasks/${taskId}`);
    return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
  });
}

/** Waits until the lead's workflow has no work left (everything applied and published). */
async function settled(leadId: string, version: number): Promise<void> {
  await until(`lead ${leadId} at version ${version}, synced`, async () => {
    const res = await api(app, 'GET', `/api/leads/${leadId}`);
    return res.body.version === version && res.body.crm?.status === 'synced' && res.body.read_source !== 'history' ? true : undefined;
  });
  await sleep(300); // let the last workflow task complete
}

interface Recorded {
  name: string;
  workflowId: string;
  runId?: string;
}

async function create(): Promise<Recorded[]> {
  const created = await api(app, 'POST', '/api/leads', {
    email: email('create'),
    first_name: 'ada',
    last_name: 'LOVELACE',
    company: 'Analytical Engines',
    phone: '+44 20 7946 0000',
    source: 'Referral',
    tags: ['VIP', 'conference'],
    custom: { plan: 'pro', seats: 12 },
  });
  await taskDone(created.body.task_id);
  await settled(created.body.id, 1);
  return [{ name: 'create', workflowId: leadWorkflowId(created.body.id) }];
}

async function unsubscribed(): Promise<Recorded[]> {
  const created = await api(app, 'POST', '/api/leads', { email: email('unsub'), unsubscribed: true });
  await taskDone(created.body.task_id);
  await settled(created.body.id, 1);
  return [{ name: 'unsubscribed', workflowId: leadWorkflowId(created.body.id) }];
}

async function rapidUpdates(): Promise<Recorded[]> {
  const created = await api(app, 'POST', '/api/leads', { email: email('rapid') });
  let last = created;
  for (let i = 1; i <= 15; i++) {
    // Sent one after another without waiting: what piles up is coalesced into one batch.
    last = await api(app, i % 3 === 0 ? 'PATCH' : 'PUT', `/api/leads/${created.body.id}`, i % 3 === 0 ? { stage: 'contacted' } : { email: email('rapid'), last_name: `Lead${i}` });
  }
  await taskDone(last.body.task_id);
  await settled(created.body.id, 16);
  return [{ name: 'rapid-updates', workflowId: leadWorkflowId(created.body.id) }];
}

async function crmRetryRecovery(): Promise<Recorded[]> {
  crm.setFaults({ down: true });
  try {
    const created = await api(app, 'POST', '/api/leads', { email: email('crmdown') });
    await until('CRM retries', async () => {
      const res = await api(app, 'GET', `/api/tasks/${created.body.task_id}`);
      return res.body.status === 'retrying' && res.body.attempts >= 3 ? true : undefined;
    });
    crm.clearFaults();
    await taskDone(created.body.task_id);
    await settled(created.body.id, 1);
    return [{ name: 'crm-retry-recovery', workflowId: leadWorkflowId(created.body.id) }];
  } finally {
    crm.clearFaults();
  }
}

async function crmRejectedResync(): Promise<Recorded[]> {
  crm.setFaults({ badRequestNext: 1 });
  const created = await api(app, 'POST', '/api/leads', { email: email('rejected') });
  const task = await taskDone(created.body.task_id);
  if (task.status !== 'failed') throw new Error(`expected the CRM step to fail, got ${JSON.stringify(task)}`);
  // A CRM refusal is a dead letter (generation 5): an operator's re-drive writes it again.
  await api(app, 'POST', `/api/leads/${created.body.id}/retry`);
  await settled(created.body.id, 1);
  return [{ name: 'crm-rejected-resync', workflowId: leadWorkflowId(created.body.id) }];
}

async function welcomeRejectedRepair(): Promise<Recorded[]> {
  smtp.setFaults({ rejectRcptNext: 1 });
  const address = email('welcome');
  const created = await api(app, 'POST', '/api/leads', { email: address });
  await taskDone(created.body.task_id);
  // A refused welcome is a dead letter (generation 5): an operator's re-drive sends it.
  await api(app, 'POST', `/api/leads/${created.body.id}/retry`);
  await until('the welcome email to be repaired', async () => (smtp.messages().some((m) => m.to.includes(address)) ? true : undefined));
  // Version 2: the re-drive lifted the refusal's suppression of the address with a consent change.
  await settled(created.body.id, 2);
  return [{ name: 'welcome-rejected-repair', workflowId: leadWorkflowId(created.body.id) }];
}

async function continueAsNew(): Promise<Recorded[]> {
  const created = await api(canApp, 'POST', '/api/leads', { email: email('long') });
  let last = created;
  for (let i = 1; i <= 30; i++) {
    last = await api(canApp, 'PATCH', `/api/leads/${created.body.id}`, { custom: { step: i } });
    if (i % 5 === 0) await sleep(200); // some changes one by one, some coalesced
  }
  await taskDone(last.body.task_id, canApp);
  await settled(created.body.id, 31);
  const workflowId = leadWorkflowId(created.body.id);
  const description = await client.workflow.getHandle(workflowId).describe();
  const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? undefined;
  if (!firstRunId || firstRunId === description.runId) throw new Error('the lead did not continue as new');
  return [
    { name: 'continue-as-new-first-run', workflowId, runId: firstRunId },
    { name: 'continue-as-new-latest-run', workflowId, runId: description.runId },
  ];
}

async function duplicateSignal(): Promise<Recorded[]> {
  const address = email('dup');
  const createKey = `replay-create-${suffix}`;
  const first = await api(app, 'POST', '/api/leads', { email: address, company: 'A' }, { 'idempotency-key': createKey });
  // A client retry: the same key and body again signal the same task id, applied once.
  const retry = await api(app, 'POST', '/api/leads', { email: address, company: 'A' }, { 'idempotency-key': createKey });
  if (retry.body.task_id !== first.body.task_id) throw new Error('the retry got another task id');
  const id = first.body.id as string;
  const patchKey = `replay-patch-${suffix}`;
  const patch = await api(app, 'PATCH', `/api/leads/${id}`, { stage: 'qualified' }, { 'idempotency-key': patchKey });
  await api(app, 'PATCH', `/api/leads/${id}`, { stage: 'qualified' }, { 'idempotency-key': patchKey });
  // A second create of the same email without a key merges into the lead.
  const merge = await api(app, 'POST', '/api/leads', { email: address, last_name: 'Merged' });
  await taskDone(patch.body.task_id);
  await taskDone(merge.body.task_id);
  await settled(id, 3);
  return [
    { name: 'duplicate-signal', workflowId: leadWorkflowId(id) },
    { name: 'idempotency-record', workflowId: idempotencyRecordId(`POST /api/leads\n${createKey}`) },
  ];
}

/** Changes made in the CRM: one applied (not written back), its echo (no version), one older than it (dropped), one normalized (written back). */
async function crmChanges(): Promise<Recorded[]> {
  const created = await api(app, 'POST', '/api/leads', { email: email('crm'), company: 'Acme', stage: 'contacted' });
  const id = created.body.id as string;
  await taskDone(created.body.task_id);
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  const outcomes = [
    await app.leads.fromCrm([{ leadId: id, eventId: `${suffix}-stage`, occurredAt: at(0), fields: { stage: 'qualified', custom: { crm_owner: '7' } } }]),
    await app.leads.fromCrm([{ leadId: id, eventId: `${suffix}-echo`, occurredAt: at(0), fields: { stage: 'qualified' } }]),
    await app.leads.fromCrm([{ leadId: id, eventId: `${suffix}-late`, occurredAt: at(-60_000), fields: { stage: 'new' } }]),
    await app.leads.fromCrm([{ leadId: id, eventId: `${suffix}-phone`, occurredAt: at(0), fields: { phone: '+44 20 7946 0000' } }]),
  ];
  for (const outcome of outcomes) await taskDone(outcome.task_ids[0]!);
  await settled(id, 3);
  return [{ name: 'crm-changes', workflowId: leadWorkflowId(id) }];
}

const RUNNERS: Record<Scenario, () => Promise<Recorded[]>> = {
  create,
  unsubscribed,
  'rapid-updates': rapidUpdates,
  'crm-retry-recovery': crmRetryRecovery,
  'crm-rejected-resync': crmRejectedResync,
  'welcome-rejected-repair': welcomeRejectedRepair,
  'continue-as-new': continueAsNew,
  'duplicate-signal': duplicateSignal,
  'crm-changes': crmChanges,
};

let failed = false;
try {
  await mkdir(outDir, { recursive: true });
  for (const name of only as Scenario[]) {
    const started = Date.now();
    const recorded = await RUNNERS[name]();
    for (const r of recorded) {
      const history = await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      // Compact proto-JSON, the format of `temporal workflow show --output json` and of
      // the Web UI's download, so histories from a real cluster can be dropped in as well.
      const json = JSON.stringify(JSON.parse(historyToJSON(history)));
      const file = join(outDir, `${r.name}.json`);
      await writeFile(file, `${json}\n`);
      console.log(
        `${relative(process.cwd(), file)}: ${history.events?.length ?? 0} events, ${(json.length / 1024).toFixed(1)} KiB (${Date.now() - started} ms)`,
      );
    }
  }
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running.catch(() => undefined);
  deps.mailer.close();
  await app.close();
  await canApp.close();
  await nativeConnection.close();
  await connection.close();
  await crm.close();
  await smtp.close();
  await devServer?.stop();
}
process.exit(failed ? 1 : 0);
