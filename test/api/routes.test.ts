import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { apiKeysOf } from '../../src/config.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { call, startHarness, startUnreachableApp, uniqueEmail, type Harness } from '../support/harness.js';

// The HTTP contract's error paths, against a real Temporal dev server but with no worker:
// every write is accepted by Temporal (202) and nothing processes it, which is all these
// tests need. Every error body must be {"error": {code, message, issues, request_id}}.

let h: Harness;
/** Same service as the harness app, but a 2 KiB body limit. */
let small: FastifyInstance;
/** Same service, API keys required on /api/*. */
let keyed: FastifyInstance;
/** An existing lead (created without a worker), so PUT/PATCH failures come from the request alone. */
let leadId: string;

const UNKNOWN_LEAD = 'aaaaaaaaaaaaaaaaaaaa';
const UNKNOWN_TASK = `${UNKNOWN_LEAD}.aaaaaaaaaaaa`;
const JSON_TYPE = { 'content-type': 'application/json' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY = 'routes-test-key-0123456789';

beforeAll(async () => {
  h = await startHarness();
  const leads = leadServiceFromConfig(h.config, h.client);
  small = await buildApp({ leads, bodyLimitBytes: 2048 });
  keyed = await buildApp({ leads, apiKeys: apiKeysOf({ API_KEYS: KEY }) });
  const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('routes') });
  expect(created.status).toBe(202);
  leadId = created.body.id;
});

afterAll(async () => {
  await small?.close();
  await keyed?.close();
  await h?.close();
});

async function send(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject(options);
}

interface ErrorIssue {
  path: string;
  code: string;
  message: string;
}
interface ErrorPayload {
  code: string;
  message: string;
  issues: ErrorIssue[];
  request_id: string;
}

/** Asserts the status and the contract's error shape, and returns `error`. */
function expectError(res: LightMyRequestResponse, status: number, code?: string): ErrorPayload {
  const context = `${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, context).toBe(status);
  expect(String(res.headers['content-type']), context).toMatch(/^application\/json/);
  const body = res.json() as { error: ErrorPayload };
  expect(Object.keys(body), context).toEqual(['error']);
  expect(Object.keys(body.error).sort(), context).toEqual(['code', 'issues', 'message', 'request_id']);
  expect(body.error.code).toEqual(expect.any(String));
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(Array.isArray(body.error.issues)).toBe(true);
  for (const issue of body.error.issues) {
    expect(Object.keys(issue).sort(), context).toEqual(['code', 'message', 'path']);
    expect(issue).toEqual({ path: expect.any(String), code: expect.any(String), message: expect.any(String) });
  }
  expect(body.error.request_id, context).toEqual(expect.any(String));
  expect(res.headers['x-request-id'], context).toBe(body.error.request_id);
  if (code !== undefined) expect(body.error.code, context).toBe(code);
  return body.error;
}

const paths = (error: ErrorPayload) => error.issues.map((i) => i.path);

interface WriteRoute {
  method: 'POST' | 'PUT' | 'PATCH';
  url: () => string;
  /** A body this route accepts. */
  valid: () => Record<string, unknown>;
}
const WRITES: WriteRoute[] = [
  { method: 'POST', url: () => '/api/leads', valid: () => ({ email: uniqueEmail('ok') }) },
  { method: 'PUT', url: () => `/api/leads/${leadId}`, valid: () => ({ email: uniqueEmail('ok') }) },
  { method: 'PATCH', url: () => `/api/leads/${leadId}`, valid: () => ({ stage: 'contacted' }) },
];

describe.each(WRITES)('$method write bodies', ({ method, url, valid }) => {
  const raw = (payload: string | undefined, headers: Record<string, string> = JSON_TYPE) =>
    send(h.app, { method, url: url(), headers, payload });

  it('accepts a valid body (control)', async () => {
    const res = await raw(JSON.stringify(valid()));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ status: 'queued', task_id: expect.stringMatching(/^[a-z2-7]{20}\.[a-z2-7]{12}$/) });
  });

  it.each([
    ['truncated', '{"email":'],
    ['single quotes', "{'email':'a@b.com'}"],
    ['trailing comma', '{"email":"a@b.com",}'],
    ['not JSON at all', 'email=a@b.com'],
    ['two documents', '{"email":"a@b.com"}{"email":"b@b.com"}'],
  ])('refuses invalid JSON (%s) with 400 invalid_json', async (_label, payload) => {
    expectError(await raw(payload), 400, 'invalid_json');
  });

  it('refuses an empty JSON body with 400 empty_body', async () => {
    expectError(await raw(''), 400, 'empty_body');
  });

  it('refuses a request with no body at all with 400', async () => {
    const error = expectError(await send(h.app, { method, url: url() }), 400);
    expect(paths(error)).toEqual(['(body)']);
  });

  it.each([['null'], ['[]'], ['"a@b.com"'], ['42']])('refuses a JSON body that is not an object (%s) with 400', async (payload) => {
    const error = expectError(await raw(payload), 400, 'invalid_request');
    expect(error.issues).toEqual([{ path: '(body)', code: 'invalid_type', message: expect.any(String) }]);
  });

  it('refuses text/plain with 415 unsupported_media_type', async () => {
    expectError(await raw(JSON.stringify(valid()), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it.each(['application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x'])(
    'refuses %s with 415 unsupported_media_type',
    async (type) => {
      expectError(await raw('email=a%40b.com', { 'content-type': type }), 415, 'unsupported_media_type');
    },
  );

  it('refuses a body over the limit with 413 body_too_large', async () => {
    const payload = JSON.stringify({ ...valid(), company: 'x'.repeat(3000) });
    expect(Buffer.byteLength(payload)).toBeGreaterThan(2048);
    expectError(await send(small, { method, url: url(), headers: JSON_TYPE, payload }), 413, 'body_too_large');
  });

  it('accepts a body just under the limit on the small app', async () => {
    const body = { ...valid(), company: 'x'.repeat(150) };
    const res = await send(small, { method, url: url(), headers: JSON_TYPE, payload: JSON.stringify(body) });
    expect(res.statusCode, res.body).toBe(202);
  });

  it('refuses an unknown field: 400, issue path = field name, code unknown_field', async () => {
    const error = expectError(await raw(JSON.stringify({ ...valid(), fax: '555' })), 400, 'invalid_request');
    expect(error.issues).toEqual([{ path: 'fax', code: 'unknown_field', message: expect.any(String) }]);
  });

  it('lists every unknown field', async () => {
    const error = expectError(await raw(JSON.stringify({ ...valid(), fax: 1, score: 100, id: 'x' })), 400);
    expect(paths(error).sort()).toEqual(['fax', 'id', 'score']);
    expect(error.issues.every((i) => i.code === 'unknown_field')).toBe(true);
  });

  it('lists every bad field at once, each with path, code and message', async () => {
    const error = expectError(await raw(JSON.stringify({ email: 'nope', phone: 'call me', stage: 'won' })), 400, 'invalid_request');
    expect(error.issues).toEqual([
      { path: 'email', code: 'invalid_format', message: 'must be a valid email address' },
      { path: 'phone', code: 'custom', message: expect.stringContaining('digits') },
      { path: 'stage', code: 'invalid_value', message: expect.stringContaining('new') },
    ]);
    expect(error.message).toContain('3 problems');
  });

  it('reports nested paths with dots (tags.N, custom.key)', async () => {
    const body = { ...valid(), tags: ['ok', 'a\nb'], custom: { nested: { x: 1 }, constructor: 'x' } };
    const error = expectError(await raw(JSON.stringify(body)), 400);
    expect(paths(error).sort()).toEqual(['custom.constructor', 'custom.nested', 'tags.1']);
  });

  it('refuses CRLF in an email (header injection) with 400', async () => {
    const error = expectError(await raw(JSON.stringify({ ...valid(), email: 'a@b.com\r\nBcc: x@y.com' })), 400);
    expect(paths(error)).toEqual(['email']);
  });

  it.each([
    ['top level', '{"email":"a@b.com","__proto__":{"polluted":true}}'],
    ['inside custom', '{"email":"a@b.com","custom":{"__proto__":{"polluted":true}}}'],
    ['constructor.prototype', '{"email":"a@b.com","constructor":{"prototype":{"polluted":true}}}'],
  ])('refuses __proto__ poisoning (%s) with a 400, never a 500', async (_label, payload) => {
    const res = await raw(payload);
    expectError(res, 400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a malformed Idempotency-Key with 400 on headers.idempotency-key', async () => {
    for (const key of ['é', 'has space', 'x'.repeat(256)]) {
      const error = expectError(await raw(JSON.stringify(valid()), { ...JSON_TYPE, 'idempotency-key': key }), 400);
      expect(paths(error)).toEqual(['headers.idempotency-key']);
    }
  });
});

describe('PATCH specifics', () => {
  it('refuses an empty patch {} with 400', async () => {
    const res = await send(h.app, { method: 'PATCH', url: `/api/leads/${leadId}`, headers: JSON_TYPE, payload: '{}' });
    const error = expectError(res, 400, 'invalid_request');
    expect(error.issues).toEqual([{ path: '(body)', code: 'custom', message: 'a patch must change at least one field' }]);
  });

  it('accepts null to clear a field', async () => {
    const res = await call(h.app, 'PATCH', `/api/leads/${leadId}`, { phone: null, company: null });
    expect(res.status).toBe(202);
  });

  it('refuses null for the email', async () => {
    const res = await send(h.app, { method: 'PATCH', url: `/api/leads/${leadId}`, headers: JSON_TYPE, payload: '{"email":null}' });
    expect(paths(expectError(res, 400))).toEqual(['email']);
  });

  it('PUT requires the email', async () => {
    const res = await send(h.app, { method: 'PUT', url: `/api/leads/${leadId}`, headers: JSON_TYPE, payload: '{"first_name":"Ada"}' });
    expect(paths(expectError(res, 400))).toEqual(['email']);
  });
});

describe('Idempotency-Key reuse', () => {
  it('POST: same key with another body -> 422 idempotency_key_reused', async () => {
    const email = uniqueEmail('idem');
    const headers = { 'idempotency-key': `routes-${email}` };
    expect((await call(h.app, 'POST', '/api/leads', { email, company: 'A' }, headers)).status).toBe(202);
    const res = await send(h.app, {
      method: 'POST',
      url: '/api/leads',
      headers: { ...JSON_TYPE, ...headers },
      payload: JSON.stringify({ email, company: 'B' }),
    });
    const error = expectError(res, 422, 'idempotency_key_reused');
    expect(paths(error)).toEqual(['headers.idempotency-key']);
  });

  it('PATCH: same key with another body -> 422', async () => {
    const headers = { ...JSON_TYPE, 'idempotency-key': `routes-patch-${uniqueEmail()}` };
    const first = await send(h.app, { method: 'PATCH', url: `/api/leads/${leadId}`, headers, payload: '{"stage":"new"}' });
    expect(first.statusCode, first.body).toBe(202);
    const second = await send(h.app, { method: 'PATCH', url: `/api/leads/${leadId}`, headers, payload: '{"stage":"qualified"}' });
    expectError(second, 422, 'idempotency_key_reused');
  });
});

describe('lead id in the path', () => {
  const BAD_IDS = ['XYZ', 'aaaaaaaaaaaaaaaaaaa1', 'AAAAAAAAAAAAAAAAAAAA', 'aaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaa%20'];
  const routes = [
    { method: 'GET' as const, suffix: '', body: undefined },
    { method: 'GET' as const, suffix: '/history', body: undefined },
    { method: 'PUT' as const, suffix: '', body: { email: 'a@example.com' } },
    { method: 'PATCH' as const, suffix: '', body: { stage: 'new' } },
  ];

  for (const { method, suffix, body } of routes) {
    it(`${method} /api/leads/:id${suffix} refuses a malformed id with 400 on params.id`, async () => {
      for (const id of BAD_IDS) {
        const res = await send(h.app, {
          method,
          url: `/api/leads/${id}${suffix}`,
          ...(body ? { headers: JSON_TYPE, payload: JSON.stringify(body) } : {}),
        });
        const error = expectError(res, 400, 'invalid_request');
        expect(error.issues, id).toEqual([{ path: 'params.id', code: 'invalid_format', message: expect.any(String) }]);
      }
    });

    it(`${method} /api/leads/:id${suffix} answers 404 lead_not_found for an unknown lead`, async () => {
      const res = await send(h.app, {
        method,
        url: `/api/leads/${UNKNOWN_LEAD}${suffix}`,
        ...(body ? { headers: JSON_TYPE, payload: JSON.stringify(body) } : {}),
      });
      const error = expectError(res, 404, 'lead_not_found');
      expect(error.message).toContain(UNKNOWN_LEAD);
      expect(error.issues).toEqual([]);
    });
  }

  // Fastify rejects these in the router, before the app's error handler: they must still
  // come back in the contract's error shape with a request id.
  it('a very long id is refused in the contract error shape', async () => {
    const res = await send(h.app, { method: 'GET', url: `/api/leads/${'a'.repeat(200)}` });
    expect([400, 414]).toContain(res.statusCode);
    expectError(res, res.statusCode);
  });

  it('a malformed percent-encoding in the path is a 400 in the contract error shape', async () => {
    expectError(await send(h.app, { method: 'GET', url: '/api/leads/%E0%A4%A' }), 400);
  });
});

describe('task id in the path', () => {
  it.each(['nope', UNKNOWN_LEAD, `${UNKNOWN_LEAD}.`, `${UNKNOWN_LEAD}.AAAAAAAAAAAA`, `${UNKNOWN_LEAD}.aaaaaaaaaaa`, `${UNKNOWN_LEAD}_aaaaaaaaaaaa`])(
    'refuses a malformed task id %j with 400 on params.task_id',
    async (taskId) => {
      const error = expectError(await send(h.app, { method: 'GET', url: `/api/tasks/${taskId}` }), 400, 'invalid_request');
      expect(error.issues).toEqual([{ path: 'params.task_id', code: 'invalid_format', message: expect.any(String) }]);
    },
  );

  it('answers 404 task_not_found for a task of an unknown lead', async () => {
    const error = expectError(await send(h.app, { method: 'GET', url: `/api/tasks/${UNKNOWN_TASK}` }), 404, 'task_not_found');
    expect(error.message).toContain(UNKNOWN_TASK);
  });

  it('answers 404 task_not_found for an unknown task of an existing lead (no worker: read from history)', async () => {
    expectError(await send(h.app, { method: 'GET', url: `/api/tasks/${leadId}.zzzzzzzzzzzz` }), 404, 'task_not_found');
  });
});

describe('GET /api/leads query', () => {
  it('answers 200 with a page for a valid query (control)', async () => {
    const res = await call(h.app, 'GET', '/api/leads?limit=5&stage=new');
    expect(res.status).toBe(200);
    // The namespace is shared by every test file: other files' leads may fill more than a page.
    expect(res.body).toEqual({ items: expect.any(Array), next_cursor: res.body.next_cursor === null ? null : expect.any(String) });
  });

  it.each([
    ['limit=0', 'query.limit', 'too_small'],
    ['limit=101', 'query.limit', 'too_big'],
    ['limit=1.5', 'query.limit', 'invalid_type'],
    ['limit=abc', 'query.limit', 'invalid_type'],
    ['limit=-1', 'query.limit', 'too_small'],
    ['stage=won', 'query.stage', 'invalid_value'],
    ['stage=NEW', 'query.stage', 'invalid_value'],
    ['email=not-an-email', 'query.email', 'invalid_format'],
    ["email=x'%20OR%20'1'='1@b.com", 'query.email', 'invalid_format'],
    ['cursor=a%2Fb', 'query.cursor', 'invalid_format'],
    ['cursor=a%20b', 'query.cursor', 'invalid_format'],
    [`cursor=${'A'.repeat(4097)}`, 'query.cursor', 'too_big'],
    ['fields=all', 'query.fields', 'unknown_field'],
  ])('?%s -> 400 on %s (%s)', async (query, path, code) => {
    const error = expectError(await send(h.app, { method: 'GET', url: `/api/leads?${query}` }), 400, 'invalid_request');
    expect(error.issues).toEqual([{ path, code, message: expect.any(String) }]);
  });

  it('lists every bad query parameter at once', async () => {
    const res = await send(h.app, { method: 'GET', url: '/api/leads?limit=0&stage=won&email=x&cursor=%2F%2F' });
    const error = expectError(res, 400, 'invalid_request');
    expect(paths(error).sort()).toEqual(['query.cursor', 'query.email', 'query.limit', 'query.stage']);
  });

  // A cursor that matches the pattern but is not a page token Temporal issued is the
  // client's mistake: it must be a 400, not a 503 "retry later" after the write timeout.
  it('refuses a well-formed but forged cursor with 400 on query.cursor', async () => {
    const error = expectError(await send(h.app, { method: 'GET', url: '/api/leads?cursor=abc&limit=1' }), 400);
    expect(paths(error)).toEqual(['query.cursor']);
  });

  // Valid addresses may contain an apostrophe (o'brien@...): the email filter must be
  // escaped in the visibility query, not break it (today: 503 temporal_unavailable).
  it("filters by an email that contains an apostrophe (200, not 503)", async () => {
    const email = `o'brien.${Date.now().toString(36)}@acme-corp.example`;
    expect((await call(h.app, 'POST', '/api/leads', { email })).status).toBe(202);
    const res = await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items).toEqual(expect.any(Array));
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/api/nope'],
    ['POST', '/api/tasks'],
    ['GET', '/API/leads'],
  ] as const)('%s %s -> 404 JSON not_found', async (method, url) => {
    const error = expectError(await send(h.app, { method, url }), 404, 'not_found');
    expect(error.message).toContain(url.split('?')[0]);
  });

  it('does not echo the query string of an unknown route', async () => {
    const error = expectError(await send(h.app, { method: 'GET', url: '/nope?token=secret' }), 404, 'not_found');
    expect(error.message).not.toContain('secret');
  });
});

describe('methods a known path does not serve', () => {
  it.each([
    ['POST', `/api/leads/${UNKNOWN_LEAD}`, 'DELETE, GET, HEAD, PATCH, PUT'],
    ['PUT', `/api/leads/${UNKNOWN_LEAD}/export`, 'GET, HEAD'],
    ['TRACE', '/api/leads', 'GET, HEAD, POST'],
    ['DELETE', '/health', 'GET, HEAD'],
    ['PUT', '/api/leads/batch', 'POST'],
    ['GET', '/api/leads/batch', 'POST'],
  ] as const)('%s %s -> 405 method_not_allowed with Allow: %s', async (method, url, allow) => {
    const res = await send(h.app, { method, url });
    const error = expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe(allow);
    expect(error.message).toContain(allow);
  });
});

describe('request ids', () => {
  it('returns a generated x-request-id (a UUID) on success and on errors', async () => {
    const ok = await send(h.app, { method: 'GET', url: '/health' });
    expect(ok.headers['x-request-id']).toMatch(UUID);
    const bad = await send(h.app, { method: 'GET', url: '/api/leads/XYZ' });
    expect(expectError(bad, 400).request_id).toMatch(UUID);
  });

  it('echoes a valid client x-request-id, in the header and in the error body', async () => {
    const ok = await send(h.app, { method: 'GET', url: '/health', headers: { 'x-request-id': 'client-req.42:a_b' } });
    expect(ok.headers['x-request-id']).toBe('client-req.42:a_b');
    const bad = await send(h.app, { method: 'GET', url: '/api/leads/XYZ', headers: { 'x-request-id': 'client-req-43' } });
    expect(expectError(bad, 400).request_id).toBe('client-req-43');
  });

  it.each([
    ['a space', 'a b'],
    ['too long', 'a'.repeat(129)],
    ['a newline-ish character', 'abc\u0085'],
    ['a slash', 'a/b'],
  ])('replaces an invalid client x-request-id (%s) with a fresh one', async (_label, given) => {
    const res = await send(h.app, { method: 'GET', url: '/health', headers: { 'x-request-id': given } });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });
});

describe('API keys', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer k2' }],
    ['a key prefix', { authorization: 'Bearer k' }],
    ['a key with a suffix', { authorization: `Bearer ${KEY}x` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['the key without the scheme', { authorization: KEY }],
    ['Basic auth', { authorization: `Basic ${Buffer.from(`${KEY}:`).toString('base64')}` }],
  ])('refuses %s with 401 and www-authenticate: Bearer', async (_label, headers) => {
    for (const url of ['/api/leads', `/api/leads/${leadId}`, `/api/tasks/${UNKNOWN_TASK}`, `/api/leads/${leadId}/history`]) {
      const res = await send(keyed, { method: 'GET', url, headers });
      expectError(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    const post = await send(keyed, {
      method: 'POST',
      url: '/api/leads',
      headers: { ...JSON_TYPE, ...headers },
      payload: JSON.stringify({ email: uniqueEmail('nokey') }),
    });
    expectError(post, 401, 'unauthorized');
    expect(post.headers['www-authenticate']).toBe('Bearer');
  });

  it('checks the key before validating the request (no schema details leak to anonymous callers)', async () => {
    const res = await send(keyed, { method: 'POST', url: '/api/leads', headers: JSON_TYPE, payload: '{"fax":1}' });
    expectError(res, 401, 'unauthorized');
  });

  it('accepts Authorization: Bearer <key> on reads (200) and writes (202)', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const list = await call(keyed, 'GET', '/api/leads?limit=1', undefined, auth);
    expect(list.status).toBe(200);
    const created = await call(keyed, 'POST', '/api/leads', { email: uniqueEmail('keyed') }, auth);
    expect(created.status).toBe(202);
    const patched = await call(keyed, 'PATCH', `/api/leads/${created.body.id}`, { stage: 'contacted' }, auth);
    expect(patched.status).toBe(202);
    const read = await call(keyed, 'GET', `/api/leads/${created.body.id}`, undefined, auth);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: created.body.id });
  });

  it('leaves /health, /openapi.json and /docs open (/ready is the ops listener\'s)', async () => {
    expect((await send(keyed, { method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await send(keyed, { method: 'GET', url: '/ready' })).statusCode).toBe(401);
    expect((await send(keyed, { method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
    expect([200, 302]).toContain((await send(keyed, { method: 'GET', url: '/docs' })).statusCode);
  });

  // The router decodes %XX in the path, so /%61pi/leads reaches the /api/leads handlers;
  // the key check must not be skippable by spelling the prefix differently.
  it.each(['/%61pi/leads', '/ap%69/leads?limit=1', `/%61pi/leads/${UNKNOWN_LEAD}`])(
    'cannot be bypassed with a percent-encoded prefix: GET %s',
    async (url) => {
      const res = await send(keyed, { method: 'GET', url });
      expect(res.statusCode, res.body).toBe(401);
    },
  );

  it('cannot be bypassed with a percent-encoded prefix on writes', async () => {
    const res = await send(keyed, {
      method: 'POST',
      url: '/%61pi/leads',
      headers: JSON_TYPE,
      payload: JSON.stringify({ email: uniqueEmail('bypass') }),
    });
    expect(res.statusCode, res.body).toBe(401);
  });

  it('an app without keys is open', async () => {
    expect((await call(h.app, 'GET', '/api/leads?limit=1')).status).toBe(200);
  });
});

describe('ops endpoints', () => {
  it('/health answers 200 {status: ok}', async () => {
    const res = await call(h.app, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/ready (ops listener) answers 200 when Temporal is reachable', async () => {
    const res = await call(h.ops, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', temporal: true });
  });

  it('/openapi.json is an OpenAPI 3 document listing the lead and task paths', async () => {
    const res = await call(h.app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(Object.keys(doc.paths['/api/leads'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/leads/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch', 'put']);
    expect(Object.keys(doc.paths['/api/leads/{id}/export'] ?? {})).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/leads/{id}/consent'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/leads/{id}/history'] ?? {})).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/tasks/{task_id}'] ?? {})).toEqual(['get']);
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('/docs serves the Swagger UI as HTML', async () => {
    let res = await send(h.app, { method: 'GET', url: '/docs' });
    if (res.statusCode === 302) res = await send(h.app, { method: 'GET', url: String(res.headers.location) });
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
    expect(res.body.toLowerCase()).toContain('swagger');
  });
});

describe('Temporal unreachable', () => {
  let down: FastifyInstance;
  let downOps: FastifyInstance;
  let closeDown: () => Promise<void>;

  beforeAll(async () => {
    ({ app: down, ops: downOps, close: closeDown } = await startUnreachableApp(h.config));
  });

  afterAll(async () => {
    await closeDown?.();
  });

  it('POST answers 503 temporal_unavailable with retry-after, within ~3 s', async () => {
    const started = Date.now();
    const res = await send(down, {
      method: 'POST',
      url: '/api/leads',
      headers: JSON_TYPE,
      payload: JSON.stringify({ email: uniqueEmail('down') }),
    });
    const elapsed = Date.now() - started;
    expectError(res, 503, 'temporal_unavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(3500);
  });

  it.each([
    ['PUT', { email: 'a@example.com' }],
    ['PATCH', { stage: 'new' }],
  ] as const)('%s answers 503 with retry-after', async (method, body) => {
    const res = await send(down, { method, url: `/api/leads/${UNKNOWN_LEAD}`, headers: JSON_TYPE, payload: JSON.stringify(body) });
    expectError(res, 503, 'temporal_unavailable');
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('validation still answers 400 without touching Temporal', async () => {
    const started = Date.now();
    expectError(await send(down, { method: 'POST', url: '/api/leads', headers: JSON_TYPE, payload: '{"email":"x"}' }), 400);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('/ready answers 503 with retry-after; /health stays 200', async () => {
    const ready = await send(downOps, { method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.headers['retry-after']).toBeDefined();
    expect(ready.json()).toEqual({ status: 'unavailable', temporal: false });
    expect((await send(down, { method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
