import * as crypto from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiKeyId, registerAccessControl } from '../../src/api/access-control.js';
import { loggerOptions } from '../../src/api/compose.js';

// API keys are compared as SHA-256 digests, in full, whatever the presented key's length;
// each authenticated request's log lines name the key by its id, never the key.

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-a-longer-key-0123456789abcdef';

let app: FastifyInstance;
let lines: string[];

beforeEach(async () => {
  lines = [];
  app = Fastify({ logger: loggerOptions('info', { apiKeys: [KEY_A, KEY_B], destination: { write: (line: string) => lines.push(line) } }) });
  await registerAccessControl(app, [KEY_A, KEY_B], 0);
  app.get('/api/ping', async (request) => {
    request.log.info('handled');
    return { ok: true };
  });
  await app.ready();
  vi.mocked(crypto.timingSafeEqual).mockClear();
});

afterEach(async () => {
  await app.close();
});

const ping = (authorization?: string) => app.inject({ method: 'GET', url: '/api/ping', headers: authorization ? { authorization } : {} });

describe('API keys', () => {
  it('names a key by the first 8 hex digits of its SHA-256', () => {
    expect(apiKeyId(KEY_A)).toBe(crypto.createHash('sha256').update(KEY_A).digest('hex').slice(0, 8));
    expect(apiKeyId(KEY_A)).not.toBe(apiKeyId(KEY_B));
  });

  it('accepts each configured key, and no other', async () => {
    expect((await ping(`Bearer ${KEY_A}`)).statusCode).toBe(200);
    expect((await ping(`bearer ${KEY_B}`)).statusCode).toBe(200);
    for (const wrong of [`Bearer ${KEY_A}x`, `Bearer ${KEY_A.slice(0, -1)}`, `Bearer ${KEY_A.slice(0, -1)}X`, 'Bearer ', `Basic ${KEY_A}`, undefined]) {
      expect((await ping(wrong)).statusCode, String(wrong)).toBe(401);
    }
  });

  it('compares 32-byte digests against every key, whatever the length presented', async () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const presented of ['x', KEY_A.slice(0, -1), KEY_A, `${KEY_B}-and-more`, 'y'.repeat(500)]) {
      compare.mockClear();
      await ping(`Bearer ${presented}`);
      expect(compare, presented).toHaveBeenCalledTimes(2);
      for (const [a, b] of compare.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
    }
  });

  it('logs the key id on every line of an authenticated request, and never the key', async () => {
    await ping(`Bearer ${KEY_B}`);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => r.msg === 'handled')).toMatchObject({ key_id: apiKeyId(KEY_B) });
    expect(records.find((r) => r.msg === 'request completed')).toMatchObject({ key_id: apiKeyId(KEY_B) });
    expect(lines.join('')).not.toContain(KEY_B);
    lines.length = 0;
    await ping('Bearer not-a-key-0123456789');
    expect(lines.join('')).not.toContain('key_id');
  });
});
