import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { leadServiceFromConfig, statsServiceFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import type { Stats } from '../../src/api/stats.js';
import { eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// GET /api/stats on the real dev server: the lead queue's workflow backlog as Temporal's own
// task-queue statistics report it, while no worker polls and after one starts, and the
// running leads by CRM status from visibility (namespace-wide counts, hence >=).

const LEADS = 3;
let h: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  h = await startHarness();
  app = await buildApp({ leads: leadServiceFromConfig(h.config, h.client), stats: statsServiceFromConfig(h.config, h.client) });
});

afterAll(async () => {
  await app?.close();
  await h?.close();
});

async function stats(): Promise<Stats> {
  const res = await app.inject({ method: 'GET', url: '/api/stats' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Stats>();
}

describe('GET /api/stats', () => {
  it('shows the lead queue backlog while no worker runs, and its drain once one does', async () => {
    const leadQueue = h.config.TEMPORAL_TASK_QUEUE;
    const crmQueue = h.config.TEMPORAL_CRM_TASK_QUEUE;
    const idle = await stats();
    expect(Object.keys(idle.task_queues).sort()).toEqual([leadQueue, crmQueue].sort());
    expect(idle.task_queues[leadQueue]?.workflow).toMatchObject({ backlog: 0, pollers: 0 });
    expect(Date.parse(idle.at)).not.toBeNaN();

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
        return wf && wf.backlog >= LEADS ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `workflow backlog >= ${LEADS} on ${leadQueue}` },
    );
    expect(behind.task_queues[leadQueue]?.workflow.pollers).toBe(0);
    expect(behind.task_queues[leadQueue]?.workflow.add_rate).toBeGreaterThan(0);

    await h.startWorker();
    const caughtUp = await eventually(
      async () => {
        const s = await stats();
        const q = s.task_queues[leadQueue];
        return q && q.workflow.backlog === 0 && q.workflow.pollers > 0 && s.leads_by_crm_status.synced >= LEADS ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'backlog drained and the leads synced to the CRM' },
    );
    expect(caughtUp.task_queues[crmQueue]?.activity.pollers).toBeGreaterThan(0);
    const byStatus = caughtUp.leads_by_crm_status;
    expect(byStatus.pending + byStatus.syncing + byStatus.synced + byStatus.failed).toBeGreaterThanOrEqual(LEADS);
  });

  it('is described in the OpenAPI document as getStats', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { get?: { operationId?: string; tags?: string[] } }> }>();
    expect(doc.paths['/api/stats']?.get).toMatchObject({ operationId: 'getStats', tags: ['ops'] });
  });
});

describe('GET /api/stats without Temporal', () => {
  const config = loadConfig({ QUERY_TIMEOUT_MS: '200', READ_TIMEOUT_MS: '500' });
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const client = new Client({ connection });
  let down: FastifyInstance;

  beforeAll(async () => {
    down = await buildApp({ leads: leadServiceFromConfig(config, client), stats: statsServiceFromConfig(config, client), apiKeys: ['stats-key-0123456789'] });
  });

  afterAll(async () => {
    await down?.close();
    await connection.close().catch(() => undefined);
  });

  it('needs the API key, and is a 503 within the read deadline when Temporal cannot answer', async () => {
    expect((await down.inject({ method: 'GET', url: '/api/stats' })).statusCode).toBe(401);
    const started = Date.now();
    const res = await down.inject({ method: 'GET', url: '/api/stats', headers: { authorization: 'Bearer stats-key-0123456789' } });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json<{ error: { code: string } }>().error.code).toBeTruthy();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
