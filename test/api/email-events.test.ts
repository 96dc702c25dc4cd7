import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type EmailEventsOptions } from '../../src/api/app.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { TemporalCalls } from '../../src/temporal/calls.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';
import { signEmailEvent } from '../../src/email-events/signature.js';

// The refusals of POST /webhooks/email-events. None of them reaches Temporal, so the app's
// client points at an address nothing listens on; what a valid event does is in
// test/integration/email-events.test.ts.

const SECRET = 'email-events-api-test-secret';
const config = loadConfig({ WRITE_TIMEOUT_MS: '300' });
let connection: Connection;
const apps: FastifyInstance[] = [];

/** `apiKeys`: keys as API_KEYS lists them. */
async function appWith(emailEvents: EmailEventsOptions, apiKeys: string[] = []): Promise<FastifyInstance> {
  const client = new Client({ connection });
  const calls = new TemporalCalls(client);
  const app = await buildApp({
    leads: leadServiceFromConfig(config, calls),
    emailEvents,
    apiKeys: apiKeysOf({ API_KEYS: apiKeys.join(',') }),
  });
  apps.push(app);
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  app = await appWith({ secret: SECRET });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  await connection?.close().catch(() => undefined);
});

function event(fields: Record<string, unknown> = {}, { secret = SECRET, timestamp = String(Math.floor(Date.now() / 1000)), token = randomBytes(25).toString('hex') } = {}) {
  return {
    signature: { timestamp, token, signature: signEmailEvent(secret, timestamp, token) },
    'event-data': { event: 'failed', severity: 'temporary', recipient: 'ada@example.com', reason: 'generic', timestamp: Date.now() / 1000, ...fields },
  };
}

const post = (target: FastifyInstance, payload: unknown) => target.inject({ method: 'POST', url: '/webhooks/email-events', payload: payload as object });

function expectError(res: Awaited<ReturnType<typeof post>>, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error).toMatchObject({ code, message: expect.any(String), request_id: expect.any(String) });
  return res.json().error as { issues: { path: string }[] };
}

describe('POST /webhooks/email-events refusals', () => {
  it('is off (503) without EMAIL_EVENTS_SECRET, whatever the body', async () => {
    const off = await appWith({ secret: undefined });
    expectError(await post(off, event()), 503, 'email_events_off');
    expectError(await post(off, { nonsense: true }), 503, 'email_events_off');
  });

  it('refuses a body that is not an event, naming every problem', async () => {
    const issues = expectError(await post(app, {}), 400, 'invalid_request').issues.map((i) => i.path);
    expect(issues).toEqual(expect.arrayContaining(['signature', 'event-data']));
    const bad = event({ recipient: 'not-an-address', severity: 'sometimes', timestamp: 'yesterday' });
    bad.signature.signature = 'xyz';
    const paths = expectError(await post(app, bad), 400, 'invalid_request').issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['signature.signature', 'event-data.recipient', 'event-data.severity', 'event-data.timestamp']));
    expect(expectError(await post(app, event({ severity: undefined })), 400, 'invalid_request').issues.map((i) => i.path)).toEqual(['event-data.severity']);
  });

  it('refuses a bad signature (403)', async () => {
    expectError(await post(app, event({}, { secret: 'another-signing-key' })), 403, 'invalid_signature');
  });

  it('refuses a stale timestamp (403)', async () => {
    expectError(await post(app, event({}, { timestamp: String(Math.floor(Date.now() / 1000) - 6 * 60) })), 403, 'stale_event');
  });

  it('acknowledges a temporary failure without acting, and refuses its replay (403)', async () => {
    const once = event();
    const first = await post(app, once);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ accepted: true, suppressed: false });
    expectError(await post(app, once), 403, 'replayed_event');
  });

  it('answers 503 when Temporal does not answer, and then accepts the provider retrying the same event', async () => {
    const bounce = event({ severity: 'permanent' });
    expect((await post(app, bounce)).statusCode).toBe(503);
    expect((await post(app, bounce)).statusCode).toBe(503); // not 403 replayed_event
  });

  it('needs no API key: the signature is the credential', async () => {
    const keyed = await appWith({ secret: SECRET }, ['an-api-key-of-16-chars']);
    expect((await post(keyed, event())).statusCode).toBe(200);
    expectError(await post(keyed, event({}, { secret: 'wrong' })), 403, 'invalid_signature');
  });
});
