import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type TaskStreamEvent } from '../../src/client/index.js';
import { startApiCluster, type ApiCluster } from '../support/api-cluster.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { eventually, uniqueEmail } from '../support/harness.js';

// GET /api/tasks/:id/events against the dev server with a real worker: a created lead's task
// streamed to its end, in one API process and through the multi-process API (node:cluster,
// built and run by plain Node), and a client that leaves mid-stream letting go of its stream,
// its timers and its Temporal calls.

let server: ApiServer;
let client: Client;

beforeAll(async () => {
  server = await startApiServer({ SSE_POLL_INTERVAL_MS: '200' });
  client = createClient({ baseUrl: server.baseUrl });
});

afterAll(async () => {
  await server?.close();
});

async function collect(c: Client, taskId: string): Promise<TaskStreamEvent[]> {
  const seen: TaskStreamEvent[] = [];
  for await (const e of c.tasks.events(taskId, { signal: AbortSignal.timeout(60_000) })) seen.push(e);
  return seen;
}

function expectRunToEnd(seen: TaskStreamEvent[], taskId: string): void {
  const tasks = seen.flatMap((e) => (e.event === 'task' ? [e] : []));
  expect(seen.at(-1)).toMatchObject({ event: 'end', status: 'completed' });
  expect(tasks.length).toBeGreaterThan(0);
  expect(tasks.every((e) => e.task.task_id === taskId)).toBe(true);
  expect(tasks.at(-1)!.task.status).toBe('completed');
  // Ids are the task's progress: they only grow.
  const ids = tasks.map((e) => e.id);
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
}

/** api_sse_streams on the ops listener's /metrics (summed over processes). */
async function gauge(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  return Number(/^api_sse_streams (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

describe('task events, one API process', () => {
  it('streams a created lead’s task as the worker runs it, ending with end', async () => {
    const created = await client.leads.create({ email: uniqueEmail('sse'), first_name: 'Stream' });
    const res = await fetch(`${server.baseUrl}/api/tasks/${created.task_id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const raw = await res.text();
    expect(raw).toMatch(/^retry: \d+\n\n/);
    expect(raw.trimEnd().split('\n\n').at(-1)).toMatch(/^id: \d+\nevent: end\ndata: \{"status":"completed"\}$/);

    const seen = await collect(client, created.task_id);
    expectRunToEnd(seen, created.task_id);
    // The last view is what GET /api/tasks/:id answers.
    const { read_source: _a, ...got } = await client.tasks.get(created.task_id);
    const last = seen.flatMap((e) => (e.event === 'task' ? [e.task] : [])).at(-1)!;
    const { read_source: _b, ...streamed } = last;
    expect(streamed).toEqual(got);
  });

  it('answers 404 JSON for an unknown task', async () => {
    const res = await fetch(`${server.baseUrl}/api/tasks/aaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaa/events`);
    expect(res.status).toBe(404);
    expect((await errorCode(res))).toBe('task_not_found');
  });

  it('lets go of the stream, its timers and its Temporal calls when the client disconnects', async () => {
    await server.harness.stopWorker();
    try {
      const created = await client.leads.create({ email: uniqueEmail('sse-gone'), first_name: 'Gone' });
      const abort = new AbortController();
      const res = await fetch(`${server.baseUrl}/api/tasks/${created.task_id}/events`, { signal: abort.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('event: task')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toContain('"status":"queued"');
      expect(server.app.taskEvents.size).toBe(1);
      expect(await gauge(server.opsUrl)).toBe(1);
      // Let it read a few more times, so a read may well be in flight when the client leaves.
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
      await eventually(async () => (server.app.taskEvents.size === 0 && server.calls.pending === 0) || undefined, {
        timeoutMs: 5000,
        intervalMs: 20,
        what: 'the stream and its Temporal calls to be let go',
      });
      expect(await gauge(server.opsUrl)).toBe(0);
    } finally {
      await server.harness.startWorker();
    }
  });
});

describe('task events, through the multi-process API', () => {
  let cluster: ApiCluster;
  beforeAll(async () => {
    cluster = await startApiCluster(server.harness.config, 2, { SSE_POLL_INTERVAL_MS: '200' });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('streams tasks from whichever process serves them, and frees streams whose clients left', { timeout: 120_000 }, async () => {
    const c = createClient({ baseUrl: cluster.baseUrl });
    await server.harness.stopWorker();
    let streams: Promise<TaskStreamEvent[]>[] = [];
    try {
      const created = await Promise.all([1, 2, 3, 4].map((n) => c.leads.create({ email: uniqueEmail(`sse-cluster-${n}`), first_name: 'Cluster' })));
      // Each stream its own connection; the kernel spreads connections over the processes.
      streams = created.map((lead) => collect(c, lead.task_id));
      const leaving = [new AbortController(), new AbortController()];
      for (const a of leaving) {
        const res = await fetch(`${cluster.baseUrl}/api/tasks/${created[0]!.task_id}/events`, { signal: a.signal });
        expect(res.status).toBe(200);
      }
      // /metrics sums every process's gauge.
      await eventually(async () => ((await gauge(cluster.opsUrl)) === 6 || undefined), { timeoutMs: 20_000, what: 'six open streams' });
      for (const a of leaving) a.abort();
      await eventually(async () => ((await gauge(cluster.opsUrl)) === 4 || undefined), { timeoutMs: 10_000, what: 'the two left streams freed' });
    } finally {
      await server.harness.startWorker();
    }
    const results = await Promise.all(streams);
    results.forEach((seen, i) => {
      expect(seen[0], `stream ${i}`).toMatchObject({ event: 'task', task: { status: 'queued' } });
      expect(seen.at(-1), `stream ${i}`).toMatchObject({ event: 'end', status: 'completed' });
    });
    await eventually(async () => ((await gauge(cluster.opsUrl)) === 0 || undefined), { timeoutMs: 10_000, what: 'every stream closed' });
  });
});

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code;
}
