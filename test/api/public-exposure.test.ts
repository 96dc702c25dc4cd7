import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, buildOpsApp, type AppDeps } from '../../src/api/app.js';
import { automationServiceFromConfig, consoleOptionsFromConfig, leadServiceFromConfig, statsServiceFromConfig } from '../../src/api/compose.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';
import { encryptionCodecFromConfig } from '../../src/temporal/payload-codec.js';

// What an external probe of the public port finds with no key (issue #25): /health, the docs,
// the unsubscribe page, signed webhooks refusing an unsigned delivery, and 401s. Every route
// the public app registers is asked (its route table), so a route added later without a key
// fails here until it is listed below on purpose. The operators' endpoints are on the ops
// listener only. No Temporal: nothing a probe reaches may need it.

const KEY = 'public-exposure-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const config = loadConfig({ TEMPORAL_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` });
const connection = Connection.lazy({ address: '127.0.0.1:1' });
const client = new Client({ connection });
let pub: FastifyInstance;
let ops: FastifyInstance;

beforeAll(async () => {
  // Everything configured, so every route there is gets registered.
  const deps: AppDeps = {
    leads: leadServiceFromConfig(config, client),
    automations: automationServiceFromConfig(config, client),
    stats: statsServiceFromConfig(config, client),
    console: consoleOptionsFromConfig(config),
    apiKeys: apiKeysOf({ API_KEYS: KEY }),
    codec: encryptionCodecFromConfig(config),
    codecCorsOrigins: ['http://localhost:8080'],
    emailEvents: { secret: 'email-events-secret-0123456789' },
    crmWebhooks: {
      hubspot: { clientSecret: 'hubspot-secret', url: undefined, leadIds: async () => new Map(), customMap: {} },
      signed: { secrets: ['crm-webhook-secret-0123456789'], customMap: {} },
    },
  };
  pub = await buildApp(deps);
  ops = await buildOpsApp(deps);
});

afterAll(async () => {
  await pub?.close();
  await ops?.close();
  // The connection to nowhere stays open: /ready's ping ends at its deadline, but the SDK's
  // retry of it may still be scheduled then, and on a closed channel that retry throws
  // ("Channel has been shut down") outside any test. The worker process ends with the file.
});

/** A concrete URL for a route pattern: parameters and wildcards filled with harmless values. */
const concrete = (pattern: string) =>
  pattern
    .split('/')
    .map((part) => (part.startsWith(':') ? 'probe0000000000000000' : part === '*' ? 'probe' : part))
    .join('/');

/**
 * The public routes that answer without an API key, and what they may answer. Anything
 * else on the public port must be a 401.
 */
function allowedWithoutKey(method: string, url: string): ((status: number) => boolean) | undefined {
  const read = method === 'GET' || method === 'HEAD';
  if (url === '/health' && read) return (s) => s === 200;
  // The API contract and its page: no data.
  if ((url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/')) && read) return (s) => s < 500;
  // The email link's page (a form, no data); the click itself needs the link's token.
  if (url === '/unsubscribe') return read ? (s) => s === 200 || s === 400 : (s) => s >= 400 && s < 500;
  // Signed inbound webhooks: the signature is the credential (a body of the wrong shape is a 400 first).
  if (url.startsWith('/webhooks/') && method === 'POST') return (s) => s === 401 || s === 400;
  return undefined;
}

describe('an external probe of the public port, with no key', () => {
  it('gets only /health, the docs, the unsubscribe page, refusing webhooks and 401s, route by route', async () => {
    const routes = pub.routeTable.list();
    expect(routes.length).toBeGreaterThan(20);
    const unexpected: string[] = [];
    for (const { url, methods } of routes) {
      for (const method of methods) {
        const path = concrete(url) + (url === '/unsubscribe' ? '?lead=probe&token=probe' : '');
        const body = ['POST', 'PUT', 'PATCH', 'QUERY'].includes(method) ? { payload: {} } : {};
        const res = await pub.inject({ method: method as 'GET', url: path, ...body });
        const allowed = allowedWithoutKey(method, url);
        const ok = allowed ? allowed(res.statusCode) : res.statusCode === 401;
        if (!ok) unexpected.push(`${method} ${url} -> ${res.statusCode}`);
      }
    }
    expect(unexpected).toEqual([]);
  });

  it('finds no operations endpoint: 401 without a key, 404 with one', async () => {
    const opsPaths = pub.routeTable.list().filter(({ url }) => /^\/(metrics|ready|console|codec)(\/|$)/.test(url));
    expect(opsPaths).toEqual([]);
    for (const [method, url] of [
      ['GET', '/metrics'],
      ['GET', '/ready'],
      ['GET', '/console'],
      ['GET', '/console/app.js'],
      ['POST', '/codec/decode'],
      ['POST', '/codec/encode'],
    ] as const) {
      const payload = method === 'POST' ? { payloads: [] } : undefined;
      expect((await pub.inject({ method, url, payload })).statusCode, `${method} ${url}`).toBe(401);
      expect((await pub.inject({ method, url, payload, headers: auth })).statusCode, `${method} ${url} with a key`).toBe(404);
    }
    const doc = (await pub.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths).filter((p) => /^\/(metrics|ready|console|codec)/.test(p))).toEqual([]);
  });
});

describe('the ops listener', () => {
  it('serves /metrics, /ready, the status page and the codec; the codec and /api data with the key', async () => {
    expect((await ops.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    // Temporal is unreachable here: readiness says so, on the ops listener.
    expect((await ops.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    expect((await ops.inject({ method: 'GET', url: '/console' })).statusCode).toBe(200);
    expect((await ops.inject({ method: 'GET', url: '/console/app.js' })).statusCode).toBe(200);
    expect((await ops.inject({ method: 'POST', url: '/codec/encode', payload: { payloads: [] } })).statusCode).toBe(401);
    expect((await ops.inject({ method: 'POST', url: '/codec/encode', payload: { payloads: [] }, headers: auth })).statusCode).toBe(200);
    expect((await ops.inject({ method: 'GET', url: '/api/stats' })).statusCode).toBe(401);
    // The /api routes the status page calls are there, behind the same key.
    const served = new Set(ops.routeTable.list().map((r) => r.url));
    for (const url of ['/api/stats', '/api/leads', '/api/leads/failed', '/api/leads/:id/retry', '/api/leads/retry', '/api/automation-runs/failed', '/api/automation-runs/:run_id/retry']) {
      expect(served, url).toContain(url);
    }
    // Nothing of the public-only surface: no docs, webhooks or unsubscribe page.
    expect([...served].filter((u) => /^\/(docs|openapi\.json|webhooks|unsubscribe)/.test(u))).toEqual([]);
  });
});
