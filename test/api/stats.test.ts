import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { leadServiceFromConfig, statsServiceFromConfig } from '../../src/api/compose.js';
import type { Stats } from '../../src/leads/stats.js';
import { TemporalCalls } from '../../src/temporal/calls.js';
import { run } from '../../src/cli/run.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';
import { eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// GET /api/stats on the real dev server: the lead queue's workflow backlog as Temporal's own
// task-queue statistics report it, while no worker polls and after one starts; leads retrying
// while the CRM is down, then synced once it is back (visibility counts are namespace-wide,
// hence >=); and `ao status --once` drawing a frame from the API over HTTP.
//
// Every Temporal call of the app goes through one TemporalCalls, drained before the
// connection closes: a call's gRPC retry timer firing on a closed channel throws outside
// any promise (vitest reports it as an unhandled error).

const LEADS = 3;
let h: Harness;
let calls: TemporalCalls;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  h = await startHarness();
  calls = new TemporalCalls(h.client);
  app = await buildApp({ leads: leadServiceFromConfig(h.config, calls), stats: statsServiceFromConfig(h.config, calls) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await calls?.drain();
  await h?.close();
});

async function stats(): Promise<Stats> {
  const res = await app.inject({ method: 'GET', url: '/api/stats' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Stats>();
}

describe('GET /api/stats', () => {
  it('shows the backlog while no worker runs, leads retrying while the CRM is down, and the catch-up', async () => {
    const leadQueue = h.config.TEMPORAL_TASK_QUEUE;
    const crmQueue = h.config.TEMPORAL_CRM_TASK_QUEUE;
    const idle = await stats();
    expect(Object.keys(idle.task_queues).sort()).toEqual([leadQueue, crmQueue].sort());
    expect(idle.task_queues[leadQueue]?.workflow).toMatchObject({ backlog: 0, pollers: 0 });
    expect(Date.parse(idle.at)).not.toBeNaN();

    h.crm.setFaults({ down: true });
    for (let i = 0; i < LEADS; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/leads', payload: { email: uniqueEmail('stats'), first_name: 'Stat' } });
      expect(res.statusCode, res.body).toBe(202);
    }

    // Temporal's backlog statistics are approximate and refreshed in the background; on the
    // dev server they showed the new tasks within a few seconds; up to 30 s allowed.
    const behind = await eventually(
      async () => {
        const s = await stats();
        const wf = s.task_queues[leadQueue]?.workflow;
        return wf && wf.backlog >= LEADS && s.last_minute.leads_accepted >= LEADS ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `workflow backlog >= ${LEADS} on ${leadQueue}` },
    );
    expect(behind.task_queues[leadQueue]?.workflow.pollers).toBe(0);
    expect(behind.task_queues[leadQueue]?.workflow.add_rate).toBeGreaterThan(0);
    expect(behind.task_queues[leadQueue]?.workflow.backlog_age_s).toBeGreaterThan(0);

    await h.startWorker();
    const failing = await eventually(
      async () => {
        const s = await stats();
        const q = s.task_queues[leadQueue];
        return q && q.workflow.backlog === 0 && q.workflow.pollers > 0 && s.leads.retrying >= LEADS ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'backlog drained and the leads retrying the CRM' },
    );
    expect(failing.leads.by_crm_status.failed).toBe(failing.leads.retrying);
    expect(failing.task_queues[crmQueue]?.activity.pollers).toBeGreaterThan(0);

    h.crm.clearFaults();
    const caughtUp = await eventually(
      async () => {
        const s = await stats();
        return s.last_minute.leads_synced >= LEADS && s.leads.by_crm_status.synced >= LEADS ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the leads synced to the CRM once it is back' },
    );
    expect(caughtUp.last_minute.leads_accepted).toBeGreaterThanOrEqual(caughtUp.last_minute.leads_synced);
    expect(caughtUp.leads.failed).toBeGreaterThanOrEqual(0);
  });

  it('is drawn by `ao status --once` from the API over HTTP', async () => {
    let out = '';
    let err = '';
    const code = await run(['status', '--once', '--url', url], {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: {},
    });
    expect(code, err).toBe(0);
    expect(out).toContain(h.config.TEMPORAL_TASK_QUEUE);
    expect(out).toContain(h.config.TEMPORAL_CRM_TASK_QUEUE);
    expect(out).toMatch(/retrying\s+\d+/);
    expect(out).toMatch(/accepted\s+\d+/);
    // One frame for a pipe: no screen clearing, no cursor moves.
    expect(out).not.toContain('\x1b[');
  });

  it('redraws as a process until Ctrl-C, then exits 0', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', './test/support/ts-resolve.mjs', 'src/cli/main.ts', 'status', '--interval', '1', '--url', url], {
      cwd: root,
      env: { ...process.env, AO_URL: '', API_URL: '' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await eventually(async () => ((out.match(/^ao status /gm)?.length ?? 0) >= 2 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'two frames from ao status',
      });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(out).toContain('Ctrl-C to quit');
    expect(out).toContain(h.config.TEMPORAL_TASK_QUEUE);
  });

  it('is described in the OpenAPI document as getStats', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { get?: { operationId?: string; tags?: string[] } }> }>();
    expect(doc.paths['/api/stats']?.get).toMatchObject({ operationId: 'getStats', tags: ['ops'] });
  });
});

describe('GET /api/stats without Temporal', () => {
  const config = loadConfig({ QUERY_TIMEOUT_MS: '200', READ_TIMEOUT_MS: '500' });
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const downCalls = new TemporalCalls(new Client({ connection }));
  let down: FastifyInstance;

  beforeAll(async () => {
    down = await buildApp({ leads: leadServiceFromConfig(config, downCalls), stats: statsServiceFromConfig(config, downCalls), apiKeys: apiKeysOf({ API_KEYS: 'stats-key-0123456789' }) });
  });

  afterAll(async () => {
    await down?.close();
    // The calls answered 503 at the deadline may still be retrying in gRPC: wait for them.
    await downCalls.drain();
    await connection.close().catch(() => undefined);
  });

  it('needs the API key, and is a 503 within the read deadline when Temporal cannot answer', async () => {
    expect((await down.inject({ method: 'GET', url: '/api/stats' })).statusCode).toBe(401);
    const started = Date.now();
    const res = await down.inject({ method: 'GET', url: '/api/stats', headers: { authorization: 'Bearer stats-key-0123456789' } });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('temporal_unavailable');
    expect(res.headers['retry-after']).toBeDefined();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
