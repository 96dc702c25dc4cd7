import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, buildOpsApp } from '../../src/api/app.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';
import { encryptionCodecFromConfig, type EncryptionCodec } from '../../src/temporal/payload-codec.js';

// POST /codec/decode and /codec/encode on the ops listener, the remote codec of the Temporal
// Web UI: the UI's JSON payload format, the API keys, CORS for the UI's origin; never on the
// public listener. No Temporal needed.

const KEY = 'codec-endpoint-key-0123456789';
const UI = 'http://localhost:8233';
const config = loadConfig({});
const connection = Connection.lazy({ address: '127.0.0.1:1' });
const codec = encryptionCodecFromConfig({ TEMPORAL_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` }) as EncryptionCodec;
let app: FastifyInstance;
let plainApp: FastifyInstance;
let publicApp: FastifyInstance;

beforeAll(async () => {
  const leads = leadServiceFromConfig(config, new Client({ connection }));
  app = await buildOpsApp({ leads, apiKeys: apiKeysOf({ API_KEYS: KEY }), codec, codecCorsOrigins: [UI], metrics: false });
  plainApp = await buildOpsApp({ leads, apiKeys: apiKeysOf({ API_KEYS: KEY }), metrics: false });
  publicApp = await buildApp({ leads, apiKeys: apiKeysOf({ API_KEYS: KEY }), codec, codecCorsOrigins: [UI], metrics: false });
});

afterAll(async () => {
  await app?.close();
  await plainApp?.close();
  await publicApp?.close();
  await connection.close().catch(() => undefined);
});

const auth = { authorization: `Bearer ${KEY}` };
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');
const jsonPayload = (value: unknown) => {
  const p = defaultPayloadConverter.toPayload(value);
  return { metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v!)])), data: b64(p.data!) };
};

describe('the codec endpoint', () => {
  it('encodes and decodes in the Web UI JSON format', async () => {
    const lead = { email: 'grace@example.com' };
    const encoded = await app.inject({ method: 'POST', url: '/codec/encode', headers: auth, payload: { payloads: [jsonPayload(lead)] } });
    expect(encoded.statusCode, encoded.body).toBe(200);
    const [enc] = encoded.json().payloads as Array<{ metadata: Record<string, string>; data: string }>;
    expect(Buffer.from(enc!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(enc!.data, 'base64').toString('latin1')).not.toContain('grace@');

    const decoded = await app.inject({ method: 'POST', url: '/codec/decode', headers: { ...auth, origin: UI }, payload: { payloads: [enc, jsonPayload('plain')] } });
    expect(decoded.statusCode, decoded.body).toBe(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(UI);
    const [a, b] = decoded.json().payloads as Array<{ metadata: Record<string, string>; data: string }>;
    expect(JSON.parse(Buffer.from(a!.data, 'base64').toString())).toEqual(lead);
    expect(Buffer.from(a!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(b!.data, 'base64').toString())).toBe('plain');
  });

  it('takes a page of payloads larger than the API body limit for leads', async () => {
    const big = jsonPayload('x'.repeat(200 * 1024));
    const res = await app.inject({ method: 'POST', url: '/codec/encode', headers: auth, payload: { payloads: [big, big] } });
    expect(res.statusCode).toBe(200);
  });

  it('needs the API key, like /api/*', async () => {
    const res = await app.inject({ method: 'POST', url: '/codec/decode', headers: { origin: UI }, payload: { payloads: [] } });
    expect(res.statusCode).toBe(401);
    // The UI sees the 401 itself, not a CORS failure.
    expect(res.headers['access-control-allow-origin']).toBe(UI);
  });

  it('answers the browser preflight for the UI origin only, without a key', async () => {
    const pre = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' };
    const ok = await app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { ...pre, origin: UI } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(UI);
    expect(String(ok.headers['access-control-allow-headers'])).toMatch(/Authorization/);
    const other = await app.inject({ method: 'OPTIONS', url: '/codec/encode', headers: { ...pre, origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a tampered payload with 422 and a malformed body with 400', async () => {
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload('x')]);
    const data = Buffer.from(enc!.data!);
    data[data.length - 1] = data[data.length - 1]! ^ 1;
    const body = { payloads: [{ metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('k1') }, data: b64(data) }] };
    const res = await app.inject({ method: 'POST', url: '/codec/decode', headers: auth, payload: body });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('payload_not_decryptable');
    expect((await app.inject({ method: 'POST', url: '/codec/decode', headers: auth, payload: { payloads: 'no' } })).statusCode).toBe(400);
  });

  it('does not exist when encryption is off', async () => {
    const res = await plainApp.inject({ method: 'POST', url: '/codec/decode', headers: auth, payload: { payloads: [] } });
    expect(res.statusCode).toBe(404);
  });

  it('is not on the public listener: 404 with a key, 401 without, no CORS headers', async () => {
    for (const url of ['/codec/decode', '/codec/encode']) {
      const keyed = await publicApp.inject({ method: 'POST', url, headers: { ...auth, origin: UI }, payload: { payloads: [] } });
      expect(keyed.statusCode, url).toBe(404);
      expect(keyed.headers['access-control-allow-origin']).toBeUndefined();
      expect((await publicApp.inject({ method: 'POST', url, payload: { payloads: [] } })).statusCode, url).toBe(401);
    }
    const pre = await publicApp.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: UI, 'access-control-request-method': 'POST' } });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });
});
