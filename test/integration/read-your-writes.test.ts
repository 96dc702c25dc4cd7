import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// A worker that took a lead's workflow task and died (or is still replaying a long history)
// leaves that task running at the server until it completes or times out. Signals that
// arrive meanwhile are kept out of the history, and no worker answers queries: the API's
// history fallback cannot see the change it just acknowledged. Here the test itself is that
// worker: it polls the workflow task with the raw gRPC call and never answers it.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    // No worker runs at first: give up on queries quickly and answer from history.
    QUERY_TIMEOUT_MS: '500',
    READ_TIMEOUT_MS: '15000',
    HANDLER_TIMEOUT_MS: '30000',
  });
});
afterAll(async () => {
  await h?.close();
});

async function holdWorkflowTask(workflowId: string): Promise<void> {
  const task = await h.client.withDeadline(Date.now() + 30_000, () =>
    h.client.workflowService.pollWorkflowTaskQueue({
      namespace: h.config.TEMPORAL_NAMESPACE,
      taskQueue: { name: h.config.TEMPORAL_TASK_QUEUE, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      identity: 'test: a worker that dies holding the task',
    }),
  );
  expect(task.workflowExecution?.workflowId).toBe(workflowId);
}

async function signalledTaskIds(workflowId: string): Promise<string[]> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowExecutionSignaledEventAttributes)
    .map((e) => {
      const payload = e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!;
      return (JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { task_id: string }).task_id;
    });
}

describe('reads after a 202 while a workflow task is held by a dead worker', () => {
  it('never deny an acknowledged task, still deny made-up ones, and complete once a worker takes over', { timeout: 120_000 }, async () => {
    const email = uniqueEmail('held');
    const created = await call(h.app, 'POST', '/api/leads', { email, first_name: 'held' });
    expect(created.status).toBe(202);
    const leadId: string = created.body.id;
    await holdWorkflowTask(leadWorkflowId(leadId));

    const put = await call(h.app, 'PUT', `/api/leads/${leadId}`, { email, first_name: 'Updated', last_name: 'Lead' });
    expect(put.status).toBe(202);
    // The fault is real: the acknowledged change is not in the history yet.
    expect(await signalledTaskIds(leadWorkflowId(leadId))).not.toContain(put.body.task_id);

    const task = await call(h.app, 'GET', `/api/tasks/${put.body.task_id}`);
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({ task_id: put.body.task_id, lead_id: leadId, type: 'crm_update', status: 'queued', read_source: 'history' });
    // The creation's change is in the history already: its task answers from the events,
    // without waiting out READ_SETTLE_MS for the held workflow task (that read says "history").
    const creation = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
    expect(creation.body).toMatchObject({ type: 'lead_process', status: 'queued', read_source: 'events' });
    expect((await call(h.app, 'GET', `/api/leads/${leadId}`)).status).toBe(200);

    // An id of the right shape that this API never issued is still unknown.
    const madeUp = await call(h.app, 'GET', `/api/tasks/${leadId}.abcdefghijkl`);
    expect(madeUp.status).toBe(404);

    // The held task times out at the server; a real worker replays and applies both changes.
    await h.startWorker();
    const done = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/tasks/${put.body.task_id}`);
      return res.body.status === 'completed' ? res.body : undefined;
    }, { what: 'the change to complete once a worker took over', timeoutMs: 90_000 });
    expect(done.version).toBe(2);
    expect(await signalledTaskIds(leadWorkflowId(leadId))).toContain(put.body.task_id);
  });
});

describe('reads right after a 202, through another API process', () => {
  // A second API with its own connection to Temporal stands for another process: it shares
  // nothing with the first but Temporal. It waits up to 10 s for a running workflow task,
  // so that a slow CI machine cannot turn the check into a timing test.
  let other: FastifyInstance;
  let connection: Connection;
  beforeAll(async () => {
    connection = await Connection.connect({ address: h.config.TEMPORAL_ADDRESS });
    const config = loadConfig({ ...configEnv(h), READ_SETTLE_MS: '10000' });
    other = await buildApp({ leads: leadServiceFromConfig(config, new Client({ connection, namespace: config.TEMPORAL_NAMESPACE })) });
  });
  afterAll(async () => {
    await other?.close();
    await connection?.close();
  });

  it('show every acknowledged change, from the events, while the worker processes them', { timeout: 120_000 }, async () => {
    await h.startWorker();
    for (let lead = 0; lead < 4; lead++) {
      const email = uniqueEmail('ryw');
      const created = await call(h.app, 'POST', '/api/leads', { email, first_name: 'ryw' });
      expect(created.status).toBe(202);
      const id: string = created.body.id;
      const first = await call(other, 'GET', `/api/leads/${id}`);
      expect(first.body).toMatchObject({ version: 1, read_source: 'events' });
      // Changes in quick succession from both APIs; each read goes to the one that did not write.
      for (let n = 2; n <= 6; n++) {
        const writer = n % 2 === 0 ? h.app : other;
        const patch = await call(writer, 'PATCH', `/api/leads/${id}`, { company: `Acme ${n}` });
        expect(patch.status).toBe(202);
        const read = await call(other, 'GET', `/api/leads/${id}`);
        expect(read.body, `lead ${lead}, change ${n}`).toMatchObject({ version: n, company: `Acme ${n}`, read_source: 'events' });
        const task = await call(other, 'GET', `/api/tasks/${patch.body.task_id}`);
        expect(task.status).toBe(200);
        expect(task.body.read_source).toBe('events');
        expect(['queued', 'running', 'retrying', 'completed']).toContain(task.body.status);
      }
    }
  });
});

/** The settings the harness's API runs with, as environment variables. */
function configEnv(harness: Harness): Record<string, string> {
  return Object.fromEntries(Object.entries(harness.config).map(([k, v]) => [k, String(v ?? '')]).filter(([, v]) => v !== '' && v !== 'undefined'));
}
