import type { PayloadCodec } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, buildOpsApp, type AppDeps } from '../../src/api/app.js';
import { apiKeysOf } from '../../src/config.js';
import type { AutomationService } from '../../src/automations/service.js';
import type { LeadService } from '../../src/leads/lead-service.js';
import type { StatsService } from '../../src/leads/stats.js';

// Every route the app serves declares its access on the route (access-control.ts refuses one
// that does not). This checks the declarations against the policy: reads need `read`, writes
// `write`, re-drive and the payload codec `admin`; only health, docs, the status page and
// the links and webhooks that carry their own credential are public.

let app: FastifyInstance;
let ops: FastifyInstance;
/** Every route of both listeners: the public app's and the ops app's (codec, status page, metrics). */
let routeAccess: FastifyInstance['routeAccess'];

beforeAll(async () => {
  const codec: PayloadCodec = { encode: async (p) => p, decode: async (p) => p };
  const deps: AppDeps = {
    leads: {} as LeadService,
    automations: {} as AutomationService,
    stats: {} as StatsService,
    console: { namespace: 'default', taskQueue: 'leads', refreshMs: 3000 },
    codec,
    apiKeys: apiKeysOf({ API_KEYS: 'dev-key-0123456789abcdef' }),
  };
  app = await buildApp(deps);
  ops = await buildOpsApp(deps);
  await Promise.all([app.ready(), ops.ready()]);
  routeAccess = [...app.routeAccess, ...ops.routeAccess];
});

afterAll(async () => {
  await Promise.all([app?.close(), ops?.close()]);
});

/** Operator actions: re-driving failed work, and the codec that decrypts every payload. */
const ADMIN = new Set(['POST /api/leads/:id/retry', 'POST /api/leads/retry', 'POST /api/automation-runs/:run_id/retry', 'POST /codec/decode', 'POST /codec/encode']);

const PUBLIC = /^(\/health|\/ready|\/metrics|\/docs(\/.*)?|\/openapi\.json|\/console(\/.*)?|\/unsubscribe|\/webhooks\/.+)$/;

describe('route access', () => {
  it('serves the routes this test knows of (an app built without some would check nothing)', () => {
    const urls = new Set(routeAccess.map((r) => r.url));
    for (const url of ['/api/leads', '/api/leads/batch', '/api/leads/retry', '/api/automations', '/api/automation-runs/:run_id/retry', '/api/stats', '/codec/decode', '/console']) {
      expect(urls, url).toContain(url);
    }
  });

  it('needs read for every GET under /api, write for every other method, admin for operator actions', () => {
    const wrong = routeAccess
      .filter((r) => r.url.startsWith('/api/') && r.access !== 'any-key')
      .filter((r) => {
        const name = `${r.method} ${r.url}`;
        const expected = ADMIN.has(name) ? 'admin' : r.method === 'GET' || r.method === 'HEAD' ? 'read' : 'write';
        return r.access !== expected;
      });
    expect(wrong).toEqual([]);
  });

  it('gives the codec admin and its CORS preflight nothing (a browser sends no key with it)', () => {
    const codec = routeAccess.filter((r) => r.url.startsWith('/codec/'));
    expect(codec.filter((r) => r.method === 'POST').map((r) => r.access)).toEqual(['admin', 'admin']);
    expect(codec.filter((r) => r.method === 'OPTIONS').map((r) => r.access)).toEqual(['public', 'public']);
  });

  it('keeps any-key for the answers that only refuse a method, and nothing else', () => {
    const anyKey = routeAccess.filter((r) => r.access === 'any-key');
    expect(anyKey.length).toBeGreaterThan(0);
    for (const route of anyKey) expect(['/api/leads/batch', '/api/leads/failed', '/api/leads/retry']).toContain(route.url);
  });

  it('makes public only the routes outside /api that need no key', () => {
    const open = routeAccess.filter((r) => r.access === 'public' && !r.url.startsWith('/codec/'));
    expect(open.filter((r) => !PUBLIC.test(r.url))).toEqual([]);
    expect(routeAccess.filter((r) => r.url.startsWith('/api/') && r.access === 'public')).toEqual([]);
  });

  it('documents the scope of each operation and the 403 beside the 401', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    const doc = res.json();
    const op = (path: string, method: string) => doc.paths[path][method];
    expect(op('/api/leads', 'get').security).toEqual([{ bearer: ['read'] }]);
    expect(op('/api/leads', 'post').security).toEqual([{ bearer: ['write'] }]);
    expect(op('/api/leads/retry', 'post').security).toEqual([{ bearer: ['admin'] }]);
    expect(op('/health', 'get').security).toEqual([]);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, operation] of Object.entries(item)) {
        if ('401' in operation.responses) expect(operation.responses, `${method} ${path}`).toHaveProperty('403');
      }
    }
  });
});

describe('an API without keys (API_KEYS unset)', () => {
  it('asks no key of any operation in its OpenAPI document and none of a request', async () => {
    const open = await buildApp({ leads: {} as LeadService, apiKeys: apiKeysOf({}) });
    try {
      const doc = (await open.inject({ method: 'GET', url: '/openapi.json' })).json();
      const secured = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([path, item]) =>
        Object.entries(item)
          .filter(([, op]) => (op.security ?? []).length > 0)
          .map(([method]) => `${method} ${path}`),
      );
      expect(secured).toEqual([]);
      // Past access control (no 401): the empty lead service fails further on.
      expect((await open.inject({ method: 'GET', url: '/api/leads/x', headers: { authorization: 'Bearer wrong' } })).statusCode).not.toBe(401);
    } finally {
      await open.close();
    }
  });
});
