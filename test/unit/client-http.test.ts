import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createClient, TransportError, WatchTimeoutError } from '../../src/client/index.js';
import { isRetryable, parseRetryAfter, retryDelay, retryPolicy } from '../../src/client/retry.js';
import type { Transport, TransportOutcome, TransportRequest } from '../../src/client/transport.js';

// The client's retry rules, pure, then against a tiny local server that answers what each
// test scripts (503 with Retry-After, a dropped socket, pages, a task's progress) and
// records every request.

const response = (status: number, headers: Record<string, string> = {}, body?: unknown): TransportOutcome => ({ kind: 'response', status, headers, body });
const socketError: TransportOutcome = { kind: 'error', code: 'ECONNRESET', message: 'socket hang up' };

describe('retry rules', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter([' 7 '])).toBe(7);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5);
    expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('1.5')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('retries 429 always, 503 and socket errors only when sending again is safe', () => {
    expect(isRetryable(response(429), false)).toBe(true);
    expect(isRetryable(response(503, {}, { error: { code: 'temporal_unavailable' } }), true)).toBe(true);
    // An unkeyed write may have landed on temporal_unavailable; not on overloaded or shutting_down.
    expect(isRetryable(response(503, {}, { error: { code: 'temporal_unavailable' } }), false)).toBe(false);
    expect(isRetryable(response(503, {}, { error: { code: 'overloaded' } }), false)).toBe(true);
    expect(isRetryable(response(503, {}, { error: { code: 'shutting_down' } }), false)).toBe(true);
    expect(isRetryable(socketError, true)).toBe(true);
    expect(isRetryable(socketError, false)).toBe(false);
    for (const status of [400, 404, 409, 422, 500]) expect(isRetryable(response(status), true)).toBe(false);
  });

  it('waits what Retry-After says, backs off without it, and stops at the attempt limit or the budget', () => {
    const policy = retryPolicy({ attempts: 4, budgetMs: 10_000 });
    expect(retryDelay(policy, 1, response(503, { 'retry-after': '2' }), 0)).toBe(2_000);
    expect(retryDelay(policy, 1, response(503, { 'retry-after': '2' }), 8_500)).toBeUndefined();
    expect(retryDelay(policy, 4, response(503, { 'retry-after': '1' }), 0)).toBeUndefined();
    // Backoff: 250 ms doubling per attempt, jittered to 50-100 %.
    expect(retryDelay(policy, 1, socketError, 0, () => 0)).toBe(125);
    expect(retryDelay(policy, 3, socketError, 0, () => 1)).toBe(1_000);
    expect(retryPolicy(false)).toEqual({ attempts: 1, budgetMs: 0 });
    expect(retryPolicy(undefined)).toEqual({ attempts: 4, budgetMs: 30_000 });
  });
});

type Script = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;
let server: Server;
let baseUrl: string;
let script: Script;
let seen: Array<{ method: string; url: string; key: string | undefined; body: string }>;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, key: req.headers['idempotency-key'] as string | undefined, body });
      script(req, res, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
const unavailable = (res: ServerResponse, retryAfter: string) =>
  answer(res, 503, { error: { code: 'temporal_unavailable', message: 'retry later', issues: [], request_id: 'req-1' } }, { 'retry-after': retryAfter });
const receipt = { id: 'lead', task_id: 'lead.task', status: 'queued', deduplicated: false };

describe('client retries against a local server', () => {
  it('honours Retry-After on 503 and sends the retry with the same Idempotency-Key', async () => {
    script = (_req, res, attempt) => (attempt === 1 ? unavailable(res, '1') : answer(res, 202, receipt));
    const started = Date.now();
    const created = await createClient({ baseUrl }).leads.create({ email: 'ada@example.com' });
    expect(created).toEqual(receipt);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.key).toBe(seen[0]!.key);
    expect(seen[1]!.body).toBe(seen[0]!.body);
  });

  it('uses the key the caller gives, and a new one for the next logical write', async () => {
    script = (_req, res) => answer(res, 202, receipt);
    const client = createClient({ baseUrl });
    await client.leads.patch('lead', { stage: 'qualified' }, { idempotencyKey: 'my-key' });
    await client.leads.create({ email: 'a@example.com' });
    await client.leads.create({ email: 'a@example.com' });
    expect(seen.map((s) => s.key)).toEqual(['my-key', expect.any(String), expect.any(String)]);
    expect(seen[1]!.key).not.toBe(seen[2]!.key);
  });

  it('with retry: false, shows the caller the 503 itself, Retry-After and request id included', async () => {
    script = (_req, res) => unavailable(res, '4');
    const error = await createClient({ baseUrl, retry: false }).leads.create({ email: 'ada@example.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: 'temporal_unavailable', retryAfter: 4, requestId: 'req-1' });
    expect(seen).toHaveLength(1);
  });

  it('gives up at once when Retry-After is beyond the budget', async () => {
    script = (_req, res) => unavailable(res, '60');
    const started = Date.now();
    await expect(createClient({ baseUrl, retry: { budgetMs: 5_000 } }).leads.get('lead')).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
  });

  it('retries a keyed write after a dropped connection, but not a write sent without a key', async () => {
    script = (req, res, attempt) => (attempt === 1 ? req.socket.destroy() : answer(res, 202, receipt));
    await createClient({ baseUrl }).leads.replace('lead', { email: 'b@example.com' });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.key).toBe(seen[0]!.key);

    seen = [];
    const error = await createClient({ baseUrl }).leads.replace('lead', { email: 'b@example.com' }, { idempotencyKey: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.key).toBeUndefined();
  });

  it('does not retry a 4xx, and reports its code, message and every issue', async () => {
    const issues = [
      { path: 'email', code: 'invalid_format', message: 'must be a valid email address' },
      { path: 'foo', code: 'unknown_field', message: 'unknown field' },
    ];
    script = (_req, res) => answer(res, 400, { error: { code: 'invalid_request', message: 'the request body is invalid (2 problems)', issues, request_id: 'r' } });
    const error = await createClient({ baseUrl }).leads.create({ email: 'x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: 'the request body is invalid (2 problems)', issues });
    expect(seen).toHaveLength(1);
  });

  it('retries a read on 429 and sends the API key and query', async () => {
    script = (req, res, attempt) =>
      attempt === 1 ? answer(res, 429, { error: { code: 'rate_limited', message: 'slow down', issues: [] } }, { 'retry-after': '0' }) : answer(res, 200, { items: [], next_cursor: null, auth: req.headers.authorization });
    const page = await createClient({ baseUrl, apiKey: 'k1' }).leads.list({ stage: 'qualified', limit: 5 });
    expect(page).toMatchObject({ items: [], auth: 'Bearer k1' });
    expect(seen.map((s) => s.url)).toEqual(['/api/leads?stage=qualified&limit=5', '/api/leads?stage=qualified&limit=5']);
  });
});

describe('pages and watching, against a local server', () => {
  it('listAll follows next_cursor until the last page', async () => {
    const pages: Record<string, unknown> = {
      '': { items: [{ id: 'a' }, { id: 'b' }], next_cursor: 'c1' },
      c1: { items: [{ id: 'c' }], next_cursor: 'c2' },
      c2: { items: [], next_cursor: null },
    };
    script = (req, res) => answer(res, 200, pages[new URL(req.url!, baseUrl).searchParams.get('cursor') ?? '']);
    const ids: string[] = [];
    for await (const lead of createClient({ baseUrl }).leads.listAll({ limit: 2 })) ids.push(lead.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(seen.map((s) => s.url)).toEqual(['/api/leads?limit=2', '/api/leads?limit=2&cursor=c1', '/api/leads?limit=2&cursor=c2']);
  });

  const task = (status: string, crm: string, read_source = 'events') => ({
    task_id: 't',
    lead_id: 'l',
    type: 'lead_process',
    status,
    attempts: 1,
    last_error: null,
    steps: [{ name: 'crm_update', status: crm, attempts: 1, last_error: null }],
    read_source,
  });

  it('watch yields the task when it changes (not on every read) and stops once it ended', async () => {
    const answers = [task('queued', 'pending'), task('queued', 'pending', 'history'), task('running', 'running'), task('completed', 'completed')];
    script = (_req, res, attempt) => answer(res, 200, answers[Math.min(attempt, answers.length) - 1]);
    const statuses: string[] = [];
    for await (const t of createClient({ baseUrl }).tasks.watch('t', { intervalMs: 10 })) statuses.push(`${t.status}/${t.steps[0]!.status}`);
    expect(statuses).toEqual(['queued/pending', 'running/running', 'completed/completed']);
    expect(seen).toHaveLength(4);
  });

  it('watch gives up with WatchTimeoutError when the task does not end in time', async () => {
    script = (_req, res) => answer(res, 200, task('running', 'running'));
    const seenStatuses: string[] = [];
    const watching = (async () => {
      for await (const t of createClient({ baseUrl }).tasks.watch('t', { intervalMs: 20, timeoutMs: 200 })) seenStatuses.push(t.status);
    })();
    await expect(watching).rejects.toBeInstanceOf(WatchTimeoutError);
    expect(seenStatuses).toEqual(['running']);
    expect(seen.length).toBeGreaterThan(3);
  });
});

describe('a caller-supplied transport', () => {
  it('carries every request, with the per-attempt timeout (longer for a batch, which the API may work on for 45 s)', async () => {
    const requests: TransportRequest[] = [];
    const transport: Transport = async (request) => {
      requests.push(request);
      return { kind: 'response', status: 202, headers: {}, body: { accepted: 1, rejected: 0, items: [] } };
    };
    const client = createClient({ baseUrl: 'http://api.test/', transport, timeoutMs: 5_000 });
    await client.leads.importBatch([{ email: 'a@example.com' }], { idempotencyKey: 'chunk-0' });
    await client.runs.cancel('automation-x');
    expect(requests).toEqual([
      {
        method: 'POST',
        url: 'http://api.test/api/leads/batch',
        headers: { 'idempotency-key': 'chunk-0' },
        body: { leads: [{ email: 'a@example.com' }] },
        timeoutMs: 60_000,
      },
      { method: 'POST', url: 'http://api.test/api/automation-runs/automation-x/cancel', headers: {}, body: undefined, timeoutMs: 5_000 },
    ]);
  });
});
