import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { addressBookFromConfig } from '../../src/identity/address-book.js';
import { TemporalCalls } from '../../src/temporal/calls.js';
import { signEmailEvent } from '../../src/email-events/signature.js';
import type { AddressBook } from '../../src/identity/address-book.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// A valid bounce or complaint on the real dev server: the address gets its suppression
// record, and the lead that holds the address is patched unsubscribed. And the welcome email
// the worker sends carries the link such an address would unsubscribe with.

const SECRET = 'email-events-integration-secret';
let h: Harness;
let app: FastifyInstance;
let addresses: AddressBook;

beforeAll(async () => {
  h = await startHarness();
  const calls = new TemporalCalls(h.client);
  addresses = addressBookFromConfig(h.config, h.client);
  app = await buildApp({
    leads: leadServiceFromConfig(h.config, calls),
    emailEvents: { secret: SECRET },
  });
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

function signedEvent(recipient: string, data: Record<string, unknown>) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const token = randomBytes(25).toString('hex');
  return {
    signature: { timestamp, token, signature: signEmailEvent(SECRET, timestamp, token) },
    'event-data': { recipient, timestamp: Date.now() / 1000, reason: 'test', ...data },
  };
}

const post = (payload: object) => app.inject({ method: 'POST', url: '/webhooks/email-events', payload });

describe('the welcome email', () => {
  it('carries the unsubscribe link in its body and the RFC 8058 one-click headers', async () => {
    await h.startWorker();
    const email = uniqueEmail('welcome').toLowerCase();
    const created = await call(app, 'POST', '/api/leads', { email });
    const mail = await eventually(async () => h.smtp.messages().find((m) => m.to.includes(email)), { what: 'the welcome email' });
    const link = /^<([^>]+)>$/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1];
    expect(link).toBeDefined();
    expect(new URL(link!).searchParams.get('lead')).toBe(created.body.id);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.text).toContain(link);
  });
});

describe('POST /webhooks/email-events', () => {
  it('suppresses a hard-bounced address once, under the first reason', async () => {
    const email = uniqueEmail('bounce');
    const res = await post(signedEvent(email.toUpperCase(), { event: 'failed', severity: 'permanent' }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: true, suppressed: true });
    expect(await addresses.suppression(email.toLowerCase())).toMatchObject({ reason: 'bounced', source: 'email_events' });

    const again = await post(signedEvent(email, { event: 'complained' }));
    expect(again.json()).toEqual({ accepted: true, suppressed: false });
    expect((await addresses.suppression(email.toLowerCase()))?.reason).toBe('bounced');
  });

  it('suppresses a complaint, and leaves a temporary failure alone', async () => {
    const complained = uniqueEmail('complaint');
    expect((await post(signedEvent(complained, { event: 'complained' }))).json()).toEqual({ accepted: true, suppressed: true });
    expect((await addresses.suppression(complained.toLowerCase()))?.reason).toBe('complained');

    const soft = uniqueEmail('soft');
    expect((await post(signedEvent(soft, { event: 'failed', severity: 'temporary' }))).json()).toEqual({ accepted: true, suppressed: false });
    expect(await addresses.suppression(soft.toLowerCase())).toBeNull();
  });

  it('marks the lead holding the address unsubscribed', async () => {
    const email = uniqueEmail('holder').toLowerCase();
    const created = await call(app, 'POST', '/api/leads', { email });
    expect(created.status).toBe(202);
    // The create claimed the address for the lead: the event finds its holder there.
    expect((await addresses.holder(email))?.leadId).toBe(created.body.id);
    expect((await post(signedEvent(email, { event: 'failed', severity: 'permanent' }))).json()).toEqual({ accepted: true, suppressed: true });
    await eventually(async () => ((await call(app, 'GET', `/api/leads/${created.body.id}`)).body.unsubscribed === true ? true : undefined), {
      what: 'the lead to be unsubscribed',
    });
  });
});
