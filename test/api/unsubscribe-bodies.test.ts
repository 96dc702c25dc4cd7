import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { AutomationService } from '../../src/automations/service.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { InvalidUnsubscribeLinkError } from '../../src/automations/errors.js';
import { multipartFields } from '../../src/api/routes/unsubscribe.js';
import { unsubscribeToken, verifyUnsubscribeToken } from '../../src/automations/unsubscribe.js';
import { loadConfig } from '../../src/config.js';

// RFC 8058 one-click POSTs to the unsubscribe link, in the body encodings providers use.
// What the unsubscribe does is the lead service's (test/integration/consent-erasure.test.ts);
// here the token is checked and the opt-out only recorded, so no Temporal is needed.

const SECRET = 'unsubscribe-bodies-test-secret';
const LEAD = 'abcdefghijklmnopqrst';
const unsubscribed: string[] = [];
const service = {
  verifyUnsubscribeLink(leadId: string, token: string) {
    if (!verifyUnsubscribeToken(SECRET, leadId, token)) throw new InvalidUnsubscribeLinkError();
  },
} as unknown as AutomationService;

let app: FastifyInstance;
let connection: Connection;
const url = (token = unsubscribeToken(SECRET, LEAD)) => `/unsubscribe?lead=${LEAD}&token=${token}`;

beforeAll(async () => {
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  const leads = leadServiceFromConfig(loadConfig({}), new Client({ connection }));
  leads.optOut = async (id: string) => {
    unsubscribed.push(id);
    return { id, task_id: null, status: 'unchanged', unsubscribed: true };
  };
  app = await buildApp({ leads, automations: service });
});
afterAll(async () => {
  await app?.close();
  await connection?.close().catch(() => undefined);
});

const BOUNDARY = '----one-click-7MA4YWxkTrZu0gW';
const MULTIPART = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${BOUNDARY}--\r\n`;

describe('POST /unsubscribe (RFC 8058 one-click)', () => {
  it('accepts an application/x-www-form-urlencoded body', async () => {
    const res = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('You are unsubscribed');
  });

  it('accepts a multipart/form-data body', async () => {
    const res = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: MULTIPART });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('accepts an empty body', async () => {
    expect((await app.inject({ method: 'POST', url: url() })).statusCode).toBe(200);
    const urlencodedEmpty = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(urlencodedEmpty.statusCode).toBe(200);
  });

  it('refuses a wrong token whatever the body', async () => {
    const wrong = url('A'.repeat(32));
    for (const [type, payload] of [
      ['application/x-www-form-urlencoded', 'List-Unsubscribe=One-Click'],
      [`multipart/form-data; boundary=${BOUNDARY}`, MULTIPART],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: wrong, headers: { 'content-type': type }, payload });
      expect(res.statusCode, type).toBe(400);
      expect(res.json().error.code).toBe('invalid_unsubscribe_link');
    }
    expect(unsubscribed.every((id) => id === LEAD)).toBe(true);
  });

  it('refuses a malformed or oversized multipart body', async () => {
    const broken = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: 'List-Unsubscribe=One-Click' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_body');
    const big = await app.inject({ method: 'POST', url: url(), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: MULTIPART + 'x'.repeat(5000) });
    expect(big.statusCode).toBe(413);
  });
});

describe('multipartFields', () => {
  it('reads the text fields, quoted boundary or not, and refuses what is not multipart', () => {
    expect(multipartFields(`multipart/form-data; boundary=${BOUNDARY}`, MULTIPART)).toEqual({ 'List-Unsubscribe': 'One-Click' });
    expect(multipartFields(`multipart/form-data; boundary="${BOUNDARY}"`, MULTIPART)).toEqual({ 'List-Unsubscribe': 'One-Click' });
    expect(multipartFields('multipart/form-data', MULTIPART)).toBeNull();
    expect(multipartFields(`multipart/form-data; boundary=${BOUNDARY}`, `--${BOUNDARY}\r\nno headers\r\n--${BOUNDARY}--`)).toBeNull();
  });
});
