import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildApp, buildOpsApp, type TaskEventOptions } from '../../src/api/app.js';
import { TaskNotFoundError } from '../../src/leads/errors.js';
import { TemporalUnavailableError } from '../../src/temporal/calls.js';
import type { LeadService, ReadSource } from '../../src/leads/lead-service.js';
import { sseFrame, taskProgress } from '../../src/api/task-events.js';
import { createClient, type TaskStreamEvent } from '../../src/client/index.js';
import { sseFrames } from '../../src/client/events.js';
import { queuedTask, type TaskState, type TaskStatus } from '../../src/domain/task.js';

// GET /api/tasks/:id/events over real HTTP, with the task read replaced by a script: what
// the stream sends, when, and that every way it ends lets go of what it held. The same
// route against Temporal and a worker is in test/integration/task-events.test.ts.

const LEAD = 'aaaaaaaaaaaaaaaaaaaa';
const TASK = `${LEAD}.bbbbbbbbbbbb`;
const OTHER = `${LEAD}.cccccccccccc`;

function task(status: TaskStatus, step: 'pending' | 'running' | 'completed' = 'pending', attempts = 0): TaskState {
  const t = queuedTask(LEAD, { task_id: TASK, op: 'create', received_at: '2026-12-06T00:00:00.000Z' }, true);
  t.status = status;
  t.steps[0]!.status = step;
  t.steps[0]!.attempts = attempts;
  return t;
}

/** A reader that answers from a list of states (the last one repeats), or throws what the list holds. */
function scripted(states: Array<TaskState | Error>, delayMs = 5) {
  let reads = 0;
  let inflight = 0;
  const reader = {
    get reads() {
      return reads;
    },
    get inflight() {
      return inflight;
    },
    taskUntil: async (taskId: string, signal: AbortSignal): Promise<{ task: TaskState; source: ReadSource }> => {
      if (taskId !== TASK) throw new TaskNotFoundError(taskId);
      const next = states[Math.min(reads++, states.length - 1)]!;
      inflight++;
      try {
        // A read takes a moment, and gives up when its stream is let go (as the real one does).
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delayMs);
          signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
        });
      } finally {
        inflight--;
      }
      if (next instanceof Error) throw next;
      return { task: structuredClone(next), source: 'events' };
    },
  };
  return reader;
}

let app: FastifyInstance | undefined;
/** The ops listener's app beside `app` (same registry), for /metrics. */
let ops: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await ops?.close();
  app = undefined;
  ops = undefined;
});

async function serve(reader: ReturnType<typeof scripted>, options: Partial<TaskEventOptions> = {}): Promise<string> {
  const deps = { leads: reader as unknown as LeadService, metrics: { registry: new Registry() }, taskEvents: { pollIntervalMs: 100, heartbeatMs: 1000, ...options } };
  app = await buildApp(deps);
  ops = await buildOpsApp(deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** The frames of a whole stream, comments included (as raw text). */
async function rawStream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('task events (SSE)', () => {
  it('sends retry, each change once with its progress id, and ends with end', async () => {
    const reader = scripted([task('queued'), task('queued'), task('running', 'running'), task('running', 'running'), task('completed', 'completed', 1)]);
    const base = await serve(reader);
    const { status, type, text } = await rawStream(`${base}/api/tasks/${TASK}/events`);
    expect(status).toBe(200);
    expect(type).toBe('text/event-stream; charset=utf-8');
    expect(text.startsWith('retry: 2000\n\n')).toBe(true);
    const frames: Array<{ event: string; id: string | undefined; data: any }> = [];
    for await (const f of sseFrames(chunks(text))) if (f.data) frames.push({ event: f.event, id: f.id, data: JSON.parse(f.data) });
    expect(frames.map((f) => `${f.event}:${f.data.status}`)).toEqual(['task:queued', 'task:running', 'task:completed', 'end:completed']);
    expect(frames.map((f) => Number(f.id))).toEqual([0, 2, 5, 5]);
    // The same JSON as GET /api/tasks/:id.
    expect(frames[0]!.data).toMatchObject({ task_id: TASK, lead_id: LEAD, read_source: 'events' });
    expect(taskProgress(task('completed', 'completed', 1))).toBe(5);
  });

  it('resumes after Last-Event-ID: a view the client saw is not sent again', async () => {
    const base = await serve(scripted([task('completed', 'completed', 1)]));
    const resumed = await rawStream(`${base}/api/tasks/${TASK}/events`, { 'last-event-id': '5' });
    expect(resumed.text).not.toContain('event: task');
    expect(resumed.text).toContain(sseFrame('end', { status: 'completed' }, 5));
    const behind = await rawStream(`${base}/api/tasks/${TASK}/events`, { 'last-event-id': '2' });
    expect(behind.text).toContain('event: task');
    const garbage = await rawStream(`${base}/api/tasks/${TASK}/events`, { 'last-event-id': 'x' });
    expect(garbage.text).toContain('event: task');
  });

  it('answers 404 JSON for an unknown task, 400 for a malformed id, 503 JSON when the first read fails', async () => {
    const reader = scripted([new TemporalUnavailableError('down')]);
    const base = await serve(reader);
    const unknown = await fetch(`${base}/api/tasks/${OTHER}/events`);
    expect(unknown.status).toBe(404);
    expect((await errorCode(unknown))).toBe('task_not_found');
    expect((await fetch(`${base}/api/tasks/nope/events`)).status).toBe(400);
    // The client surfaces it as the API's error, without retrying.
    const iterating = (async () => {
      for await (const _ of createClient({ baseUrl: base }).tasks.events(OTHER)) void _;
    })();
    await expect(iterating).rejects.toMatchObject({ name: 'ApiError', status: 404, code: 'task_not_found' });
    const down = await fetch(`${base}/api/tasks/${TASK}/events`);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    expect((await errorCode(down))).toBe('temporal_unavailable');
    expect(app!.taskEvents.size).toBe(0);
    // HEAD would open a stream without a body: not served.
    expect((await fetch(`${base}/api/tasks/${TASK}/events`, { method: 'HEAD' })).status).toBe(405);
  });

  it('keeps the stream open while Temporal cannot be read, says so, and carries on', async () => {
    const down = new TemporalUnavailableError('down');
    const reader = scripted([task('queued'), down, down, task('running', 'running'), task('completed', 'completed', 1)]);
    const base = await serve(reader);
    const seen: TaskStreamEvent[] = [];
    for await (const e of createClient({ baseUrl: base }).tasks.events(TASK)) seen.push(e);
    expect(seen.map((e) => (e.event === 'status' ? `status:${e.temporal}` : e.event === 'end' ? `end:${e.status}` : `task:${e.task.status}`))).toEqual([
      'task:queued',
      'status:unavailable',
      'status:available',
      'task:running',
      'task:completed',
      'end:completed',
    ]);
  });

  it('sends heartbeats, and a client that disconnects frees its slot, timers and read', async () => {
    const reader = scripted([task('queued')]);
    const base = await serve(reader, { heartbeatMs: 1000 });
    const abort = new AbortController();
    const res = await fetch(`${base}/api/tasks/${TASK}/events`, { signal: abort.signal });
    const body = res.body!.getReader();
    let text = '';
    while (!text.includes(': keep-alive')) text += new TextDecoder().decode((await body.read()).value);
    expect(app!.taskEvents.size).toBe(1);
    expect(await metric()).toBe(1);
    abort.abort();
    await until(() => app!.taskEvents.size === 0 && reader.inflight === 0);
    const readsThen = reader.reads;
    await new Promise((r) => setTimeout(r, 300));
    expect(reader.reads).toBe(readsThen); // no more reads once it was let go
    expect(await metric()).toBe(0);
  });

  it('cancels the first read of a client that leaves before the stream started', async () => {
    const reader = scripted([task('queued')], 2000);
    const base = await serve(reader);
    const abort = new AbortController();
    const pending = fetch(`${base}/api/tasks/${TASK}/events`, { signal: abort.signal }).catch(() => undefined);
    await until(() => reader.inflight === 1);
    abort.abort();
    await pending;
    await until(() => app!.taskEvents.size === 0 && reader.inflight === 0, 1000);
  });

  it('answers 503 too_many_streams with Retry-After past the per-process cap', async () => {
    const base = await serve(scripted([task('queued')]), { maxStreams: 2 });
    const aborts = [new AbortController(), new AbortController()];
    for (const a of aborts) expect((await fetch(`${base}/api/tasks/${TASK}/events`, { signal: a.signal })).status).toBe(200);
    const full = await fetch(`${base}/api/tasks/${TASK}/events`);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('2');
    expect((await errorCode(full))).toBe('too_many_streams');
    aborts[0]!.abort();
    await until(() => app!.taskEvents.size === 1);
    expect((await fetch(`${base}/api/tasks/${TASK}/events`, { signal: aborts[1]!.signal })).status).toBe(200);
    aborts[1]!.abort();
  });

  it('ends a stream at its maximum duration, and the client resumes it with Last-Event-ID', async () => {
    const reader = scripted([task('queued'), task('queued'), task('queued'), task('queued'), task('queued'), task('queued'), task('queued'), task('queued'), task('queued'), task('completed', 'completed', 1)]);
    const base = await serve(reader, { maxDurationMs: 300 });
    const first = await rawStream(`${base}/api/tasks/${TASK}/events`);
    expect(first.text).toContain('maximum stream duration reached');
    expect(first.text).not.toContain('event: end');
    const seen: string[] = [];
    for await (const e of createClient({ baseUrl: base }).tasks.events(TASK, { lastEventId: 0 })) seen.push(e.event);
    // The queued view was seen before: only the change and the end after the reconnects.
    expect(seen).toEqual(['task', 'end']);
  });

  it('ends open streams when the app closes, promptly', async () => {
    const base = await serve(scripted([task('queued')]));
    const res = await fetch(`${base}/api/tasks/${TASK}/events`);
    const text = res.text();
    await until(() => app!.taskEvents.size === 1);
    const started = Date.now();
    await app!.close();
    app = undefined;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await text).toContain('shutting down');
  });
});

/** api_sse_streams as the ops listener's /metrics tells it. */
async function metric(): Promise<number> {
  const text = (await ops!.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^api_sse_streams (\d+)/m.exec(text)?.[1]);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code;
}

async function* chunks(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}
