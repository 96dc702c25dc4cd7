import * as crypto from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerAccessControl } from '../../src/api/access-control.js';
import { apiKeyEntry, apiKeyId, parseApiKeys, type ApiKey } from '../../src/api-keys.js';
import { loggerOptions } from '../../src/api/compose.js';
import { mapError } from '../../src/api/errors.js';

// API keys are configured by digest with an id and scopes, compared as SHA-256 digests in
// full whatever the presented key's length; each route declares the scope it needs; each
// authenticated request's log lines name the key by its id, never the key.

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const READER = 'aok_reader-0123456789abcdefghij';
const WRITER = 'aok_writer-a-longer-key-0123456789abcdef';
const OPERATOR = 'aok_operator-0123456789abcdefghij';
const PLAIN = 'plain-dev-key-0123456789';

let app: FastifyInstance;
let lines: string[];

function keysOf(...entries: string[]): ApiKey[] {
  const keys = parseApiKeys(entries.join(','));
  if (keys instanceof Error) throw keys;
  return keys;
}

beforeEach(async () => {
  lines = [];
  app = Fastify({ logger: loggerOptions('info', { apiKeys: [PLAIN], destination: { write: (line: string) => lines.push(line) } }) });
  app.setErrorHandler((err, _request, reply) => {
    const mapped = mapError(err);
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  const keys = keysOf(apiKeyEntry('reader', ['read'], READER), apiKeyEntry('writer', ['read', 'write'], WRITER), apiKeyEntry('ops', ['admin'], OPERATOR), PLAIN);
  registerAccessControl(app, { keys });
  app.get('/api/ping', { config: { access: 'read' } }, async (request) => {
    request.log.info('handled');
    return { ok: true };
  });
  app.post('/api/ping', { config: { access: 'write' } }, async () => ({ ok: true }));
  app.post('/api/ping/retry', { config: { access: 'admin' } }, async () => ({ ok: true }));
  app.get('/open', { config: { access: 'public' } }, async () => ({ ok: true }));
  await app.ready();
  vi.mocked(crypto.timingSafeEqual).mockClear();
});

afterEach(async () => {
  await app.close();
});

const call = (method: 'GET' | 'POST', url: string, key?: string) =>
  app.inject({ method, url, headers: key ? { authorization: `Bearer ${key}` } : {} });
const ping = (authorization?: string) => app.inject({ method: 'GET', url: '/api/ping', headers: authorization ? { authorization } : {} });

describe('API keys', () => {
  it('names a plaintext key by the first 8 hex digits of its SHA-256, a hashed one by its id', () => {
    expect(apiKeyId(PLAIN)).toBe(crypto.createHash('sha256').update(PLAIN).digest('hex').slice(0, 8));
    expect(keysOf(apiKeyEntry('ci', ['read'], READER))[0]).toMatchObject({ id: 'ci', plaintext: false });
  });

  it('accepts each configured key, and no other', async () => {
    expect((await ping(`Bearer ${READER}`)).statusCode).toBe(200);
    expect((await ping(`bearer ${WRITER}`)).statusCode).toBe(200);
    expect((await ping(`Bearer ${PLAIN}`)).statusCode).toBe(200);
    for (const wrong of [`Bearer ${READER}x`, `Bearer ${READER.slice(0, -1)}`, `Bearer ${READER.slice(0, -1)}X`, 'Bearer ', `Basic ${READER}`, undefined]) {
      expect((await ping(wrong)).statusCode, String(wrong)).toBe(401);
    }
  });

  it('compares 32-byte digests against every key, whatever the length presented', async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const presented of ['x', READER.slice(0, -1), READER, `${WRITER}-and-more`, 'y'.repeat(500)]) {
      compare.mockClear();
      await ping(`Bearer ${presented}`);
      expect(compare, presented).toHaveBeenCalledTimes(4);
      for (const [a, b] of compare.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });

  it('logs the key id on every line of an authenticated request, and never the key', async () => {
    await ping(`Bearer ${WRITER}`);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => r.msg === 'handled')).toMatchObject({ key_id: 'writer' });
    expect(records.find((r) => r.msg === 'request completed')).toMatchObject({ key_id: 'writer' });
    lines.length = 0;
    await ping(`Bearer ${PLAIN}`);
    expect(lines.join('')).toContain(`"key_id":"${apiKeyId(PLAIN)}"`);
    expect(lines.join('')).not.toContain(PLAIN);
    lines.length = 0;
    await ping('Bearer not-a-key-0123456789');
    expect(lines.join('')).not.toContain('key_id');
  });
});

describe('scopes', () => {
  it('lets a key call the routes of its scopes, and refuses others with 403 missing_scope naming the scope', async () => {
    expect((await call('GET', '/api/ping', READER)).statusCode).toBe(200);
    const refused = await call('POST', '/api/ping', READER);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'missing_scope', message: expect.stringMatching(/needs the write scope.*reader/) });
    expect((await call('POST', '/api/ping', WRITER)).statusCode).toBe(200);
    expect((await call('POST', '/api/ping/retry', WRITER)).json().error.message).toMatch(/needs the admin scope/);
    expect((await call('POST', '/api/ping/retry', OPERATOR)).statusCode).toBe(200);
  });

  it('does not let admin stand in for read or write: scopes are listed, not implied', async () => {
    expect((await call('GET', '/api/ping', OPERATOR)).statusCode).toBe(403);
    expect((await call('POST', '/api/ping', OPERATOR)).statusCode).toBe(403);
  });

  it('gives a plaintext (development) key every scope', async () => {
    for (const [method, url] of [['GET', '/api/ping'], ['POST', '/api/ping'], ['POST', '/api/ping/retry']] as const) {
      expect((await call(method, url, PLAIN)).statusCode).toBe(200);
    }
  });

  it('asks for a key on unknown routes (no 404 that tells what exists) and none on public ones', async () => {
    expect((await call('GET', '/api/nothing-here')).statusCode).toBe(401);
    expect((await call('GET', '/api/nothing-here', READER)).statusCode).toBe(404);
    expect((await call('GET', '/open')).statusCode).toBe(200);
  });

  it('refuses to add a route that declares no access, or an unknown one', async () => {
    const bare = Fastify();
    registerAccessControl(bare, { keys: [] });
    expect(() => bare.get('/api/new', async () => ({}))).toThrow(/GET \/api\/new declares no access/);
    expect(() => bare.get('/health2', { config: { access: 'everyone' as never } }, async () => ({}))).toThrow(/declares no access/);
    await bare.close();
  });

  it('checks no scope when the API is open (no keys, the loopback default)', async () => {
    const open = Fastify();
    registerAccessControl(open, { keys: [] });
    open.post('/api/ping/retry', { config: { access: 'admin' } }, async () => ({ ok: true }));
    expect((await open.inject({ method: 'POST', url: '/api/ping/retry' })).statusCode).toBe(200);
    await open.close();
  });
});

describe('API_KEYS', () => {
  const digest = 'a'.repeat(64);

  it('reads ids, scopes and digests', () => {
    const [ci, ops] = keysOf(`ci:read+write:sha256:${digest}`, `ops:admin:sha256:${'B'.repeat(64)}`);
    expect(ci).toMatchObject({ id: 'ci', plaintext: false });
    expect([...ci!.scopes]).toEqual(['read', 'write']);
    expect(ci!.digest).toEqual(Buffer.from(digest, 'hex'));
    expect([...ops!.scopes]).toEqual(['admin']);
  });

  it('names what is wrong with an entry, never echoing a key', () => {
    const problems = (raw: string) => (parseApiKeys(raw) as Error).message;
    expect(problems(`ci:read+delete:sha256:${digest}`)).toMatch(/unknown scope "delete"/);
    expect(problems(`CI Key:read:sha256:${digest}`)).toMatch(/the id "CI Key" must be/);
    expect(problems('ci:read:sha256:abc')).toMatch(/64 hex digits/);
    expect(problems(`ci:read:sha256:${digest},ci:write:sha256:${'c'.repeat(64)}`)).toMatch(/ci name more than one key/);
    const weak = problems('tiny,has a blank inside it ok,this-one-is-fine-12345');
    expect(weak).toMatch(/2 key\(s\) shorter than 16/);
    expect(weak).not.toMatch(/tiny|blank inside/);
  });

  it('writes an entry that reads back as the same key', () => {
    const entry = apiKeyEntry('ci', ['read', 'admin'], READER);
    expect(entry).toMatch(/^ci:read\+admin:sha256:[0-9a-f]{64}$/);
    const [key] = keysOf(entry);
    expect(key!.digest).toEqual(crypto.createHash('sha256').update(READER).digest());
  });
});
