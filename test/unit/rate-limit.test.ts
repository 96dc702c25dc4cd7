import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerAccessControl } from '../../src/api/access-control.js';
import { parseApiKeys, type ApiKey } from '../../src/api-keys.js';
import { clusterRateLimiter, serveClusterRateLimit, type Take } from '../../src/api/cluster-rate-limit.js';
import { mapError } from '../../src/api/errors.js';
import { tokenBuckets, type RateLimiter } from '../../src/api/rate-limit.js';

// The API's rate limit: a token bucket per key or client address, a batch costing one per
// lead, and (with several API processes) one set of buckets in the cluster's primary.

describe('token buckets', () => {
  it('let a client burst to its limit, then refill at limit/60 per second', () => {
    let now = 0;
    const buckets = tokenBuckets(60, () => now);
    for (let i = 0; i < 60; i++) expect(buckets.take('a', 1).allowed).toBe(true);
    const refused = buckets.take('a', 1);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now += 1000;
    expect(buckets.take('a', 1)).toMatchObject({ allowed: true, remaining: 0 });
    expect(buckets.take('a', 1).allowed).toBe(false);
    // Another client's bucket is its own.
    expect(buckets.take('b', 1)).toMatchObject({ allowed: true, remaining: 59, limit: 60 });
  });

  it('never pass more than the limit plus what refilled, whatever the timing (no double burst at a window edge)', () => {
    let now = 0;
    const buckets = tokenBuckets(100, () => now);
    let passed = 0;
    for (; now < 120_000; now += 250) for (let i = 0; i < 10; i++) passed += buckets.take('a', 1).allowed ? 1 : 0;
    // 100 at once, then 100 per minute for the two minutes: at most 300.
    expect(passed).toBeLessThanOrEqual(300);
    expect(passed).toBeGreaterThanOrEqual(298);
  });

  it('charge a weighted request its cost, and say when that cost will be there', () => {
    let now = 0;
    const buckets = tokenBuckets(600, () => now);
    expect(buckets.take('a', 500)).toMatchObject({ allowed: true, remaining: 100 });
    const refused = buckets.take('a', 500);
    // 400 missing at 10 per second.
    expect(refused).toMatchObject({ allowed: false, remaining: 100, retryAfterSeconds: 40 });
    now += 40_000;
    expect(buckets.take('a', 500).allowed).toBe(true);
  });

  it('let a request costing more than a minute pass on a full bucket rather than never', () => {
    const buckets = tokenBuckets(100, () => 0);
    expect(buckets.take('a', 500)).toMatchObject({ allowed: true, remaining: 0 });
    expect(buckets.take('a', 1).allowed).toBe(false);
  });

  it('forget buckets that have refilled, so passing clients do not pile up', () => {
    let now = 0;
    const buckets = tokenBuckets(60, () => now);
    for (let i = 0; i < 1000; i++) buckets.take(`ip:${i}`, 1);
    expect(buckets.size()).toBe(1000);
    now += 61_000;
    buckets.take('ip:new', 1);
    expect(buckets.size()).toBe(1);
  });
});

describe('the cluster limiter', () => {
  it('counts every API process against the primary’s buckets', async () => {
    // The primary's side of the IPC, run in this process: serveClusterRateLimit listens on
    // cluster 'message' events, which two fake workers emit here.
    const { default: cluster } = await import('node:cluster');
    const buckets = tokenBuckets(10, () => 0);
    serveClusterRateLimit(buckets);
    const workers = [0, 1].map(() => {
      const listeners: Array<(m: unknown) => void> = [];
      const worker = { isConnected: () => true, send: (m: unknown) => setImmediate(() => listeners.forEach((l) => l(m))) };
      const limiter = clusterRateLimiter({ send: (m: Take) => cluster.emit('message', worker, m), onMessage: (l) => listeners.push(l) });
      return limiter;
    });
    const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => workers[i % 2]!.take('key:ci', 1)));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
    cluster.removeAllListeners('message');
  });
});

describe('rate limit in access control', () => {
  let app: FastifyInstance;
  afterEach(async () => app?.close());

  async function appWith(limiter: RateLimiter, keys: ApiKey[] = []): Promise<FastifyInstance> {
    app = Fastify();
    app.setErrorHandler((err, _request, reply) => {
      const mapped = mapError(err);
      return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
    });
    registerAccessControl(app, { keys, rateLimit: limiter });
    const batchCost = (request: { body: unknown }) => ((request.body as { leads?: unknown[] }).leads ?? []).length;
    app.post('/api/batch', { config: { access: 'write', rateCost: batchCost } }, async () => ({ ok: true }));
    app.get('/api/one', { config: { access: 'read' } }, async () => ({ ok: true }));
    app.get('/health', { config: { access: 'public' } }, async () => ({ ok: true }));
    await app.ready();
    return app;
  }

  const batch = (leads: number, remoteAddress = '192.0.2.1') =>
    app.inject({ method: 'POST', url: '/api/batch', remoteAddress, payload: { leads: Array.from({ length: leads }, () => ({})) } });

  it('charges a batch one per lead: 429 with Retry-After once its leads exceed what is left', async () => {
    await appWith(tokenBuckets(600, () => 0));
    const first = await batch(500);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-ratelimit-remaining']).toBe('100');
    const second = await batch(500);
    expect(second.statusCode).toBe(429);
    expect(second.json().error.code).toBe('rate_limited');
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    // What is left still serves smaller requests.
    expect((await app.inject({ method: 'GET', url: '/api/one', remoteAddress: '192.0.2.1' })).statusCode).toBe(200);
    expect((await batch(50, '192.0.2.1')).statusCode).toBe(200);
  });

  it('keeps a bucket per key, and one per address for requests without a valid key', async () => {
    const keys = parseApiKeys('key-one-0123456789abcdef,key-two-0123456789abcdef') as ApiKey[];
    await appWith(tokenBuckets(2, () => 0), keys);
    const get = (key?: string, remoteAddress = '192.0.2.1') =>
      app.inject({ method: 'GET', url: '/api/one', remoteAddress, headers: key ? { authorization: `Bearer ${key}` } : {} });
    expect([(await get('key-one-0123456789abcdef')).statusCode, (await get('key-one-0123456789abcdef')).statusCode, (await get('key-one-0123456789abcdef')).statusCode]).toEqual([200, 200, 429]);
    // The same address with another key: that key's own bucket.
    expect((await get('key-two-0123456789abcdef')).statusCode).toBe(200);
    expect([(await get('guess-1')).statusCode, (await get('guess-2')).statusCode, (await get('guess-3')).statusCode]).toEqual([401, 401, 429]);
    expect((await get('guess-4', '192.0.2.2')).statusCode).toBe(401);
  });

  it('never counts public routes', async () => {
    await appWith(tokenBuckets(1, () => 0));
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
