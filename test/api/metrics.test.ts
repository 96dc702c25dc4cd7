import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { buildApp, buildOpsApp, type AppDeps } from '../../src/api/app.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { tokenBuckets } from '../../src/api/rate-limit.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';
import { startUnreachableApp } from '../support/harness.js';

// GET /metrics on the ops listener: Prometheus text with request durations by route pattern
// (the public listener's requests and its own, one registry), 503s by reason, process
// metrics; open to a scraper even where /api/* needs a key or is rate-limited. Never on the
// public listener. No Temporal at all: /health answers without it, and writes become 503s.

const config = loadConfig({});
const KEY = 'metrics-key-0123456789';
const connection = Connection.lazy({ address: '127.0.0.1:1' });
const leads = leadServiceFromConfig(config, new Client({ connection }));
const apps: FastifyInstance[] = [];
let down: Awaited<ReturnType<typeof startUnreachableApp>>;

beforeAll(async () => {
  down = await startUnreachableApp(config);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await down?.close();
  await connection.close().catch(() => undefined);
});

/** The public and the ops app of one process: one registry, as compose.ts builds them. */
async function build(deps: Omit<AppDeps, 'leads'> = {}): Promise<{ app: FastifyInstance; ops: FastifyInstance }> {
  const all: AppDeps = { leads, metrics: { registry: new Registry() }, ...deps };
  const app = await buildApp(all);
  const ops = await buildOpsApp(all);
  apps.push(app, ops);
  return { app, ops };
}

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of the one sample named `name` whose labels include every one of `labels`, or 0. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('GET /metrics', () => {
  it('counts both listeners\' requests by route pattern and status code, never by raw URL', async () => {
    const { app, ops } = await build();
    const before = await scrape(ops);
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/leads/not-an-id!' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/no/such/page-123' })).statusCode).toBe(404);
    expect((await ops.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const after = await scrape(ops);

    const count = (text: string, labels: Record<string, string>) => sample(text, 'http_request_duration_seconds_count', labels);
    expect(count(after, { method: 'GET', route: '/health', status_code: '200' }) - count(before, { route: '/health' })).toBe(4);
    expect(count(after, { method: 'GET', route: '/metrics', status_code: '200' })).toBe(1);
    expect(count(after, { method: 'GET', route: '/api/leads/:id', status_code: '400' })).toBe(1);
    expect(count(after, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(sample(after, 'http_request_duration_seconds_bucket', { route: '/health', le: '+Inf' })).toBeGreaterThanOrEqual(3);
    expect(after).not.toContain('not-an-id');
    expect(after).not.toContain('page-123');
    // The scrape itself is in flight while it is taken; nothing else is.
    expect(sample(after, 'http_requests_in_flight')).toBe(1);
    expect(after).toMatch(/^process_cpu_user_seconds_total /m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts 503 answers by reason', async () => {
    const reason = { reason: 'temporal_unavailable' };
    const before = sample(await scrape(down.ops), 'http_unavailable_responses_total', reason);
    const res = await down.app.inject({ method: 'POST', url: '/api/leads', payload: { email: 'metrics@example.com' } });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('temporal_unavailable');
    const after = await scrape(down.ops);
    expect(sample(after, 'http_unavailable_responses_total', reason) - before).toBe(1);
    expect(sample(after, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/leads', status_code: '503' })).toBe(1);
  });

  it('needs no API key and is not rate-limited where /api/* is', async () => {
    const { ops } = await build({ apiKeys: apiKeysOf({ API_KEYS: KEY }), rateLimiter: tokenBuckets(2) });
    expect((await ops.inject({ method: 'GET', url: '/api/leads/aaaaaaaaaaaaaaaaaaaa' })).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) await scrape(ops);
    const withKey = await ops.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${KEY}` } });
    expect(withKey.statusCode).toBe(200);
    expect(sample(withKey.body, 'http_request_duration_seconds_count', { route: '/metrics', status_code: '200' })).toBe(5);
  });

  it('is left out when built without metrics, never on the public listener, and not in the OpenAPI document', async () => {
    const { ops } = await build({ metrics: false });
    expect((await ops.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    const { app } = await build();
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
  });
});
