import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmailEventBody } from '../../src/email-events/event.js';
import { EmailEventVerifier } from '../../src/email-events/signature.js';
import { startSmtpSink, type SmtpSink } from '../../tooling/simulators/smtp-sink.js';

// The sink's bounces and complaints, received by a small local HTTP server standing in for the
// API's /webhooks/email-events: each is a Mailgun-shaped body the API's schema and verifier accept.

const SECRET = 'smtp-sink-events-test-secret';
let receiver: Server;
let received: { path: string; body: unknown }[];
let status: number;
let sink: SmtpSink;

beforeEach(async () => {
  received = [];
  status = 200;
  receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/email-events`;
  sink = await startSmtpSink({ events: { url, secret: SECRET, bounce: ['Bounce@Example.com'], complain: ['spam@example.com'] } });
});

afterEach(async () => {
  await sink.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const send = (to: string | string[]) =>
  nodemailer
    .createTransport({ host: '127.0.0.1', port: sink.smtpPort, secure: false, ignoreTLS: true })
    .sendMail({ from: 'noreply@acme.test', to, subject: 'Hi', text: 'Hello', messageId: '<m1@acme.test>' });

async function until<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const eventsView = async (): Promise<{ sent: number; failed: number }> => (await fetch(`${sink.httpUrl}/_sim/email-events`)).json() as Promise<{ sent: number; failed: number }>;

describe('SMTP sink: bounce and complaint events', () => {
  it('accepts the message, then posts a signed permanent failure for a bouncing address', async () => {
    expect((await send('bounce@example.com')).response).toMatch(/^250 /);
    const [event] = await until(() => (received.length > 0 ? received : undefined));
    expect(event!.path).toBe('/webhooks/email-events');
    const body = EmailEventBody.parse(event!.body);
    expect(body['event-data']).toMatchObject({ event: 'failed', severity: 'permanent', recipient: 'bounce@example.com' });
    expect(new EmailEventVerifier(SECRET).check(body.signature)).toBe('valid');
    expect(new EmailEventVerifier('another-key').check(body.signature)).toBe('invalid_signature');
    expect(sink.messages()).toHaveLength(1);
    await expect.poll(async () => (await eventsView()).sent).toBe(1);
  });

  it('posts a complaint, one event per configured recipient, none for the others', async () => {
    await send(['spam@example.com', 'someone@example.com', 'bounce@example.com']);
    await until(() => (received.length >= 2 ? received : undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const events = received.map((r) => EmailEventBody.parse(r.body)['event-data']);
    expect(events.map((e) => [e.event, e.recipient]).sort()).toEqual([
      ['complained', 'spam@example.com'],
      ['failed', 'bounce@example.com'],
    ]);
  });

  it('takes its addresses from the HTTP control too, and counts refused posts', async () => {
    status = 403;
    const set = await fetch(`${sink.httpUrl}/_sim/email-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bounce: ['other@example.com'] }),
    });
    expect(await set.json()).toMatchObject({ bounce: ['other@example.com'], complain: ['spam@example.com'] });
    await send('bounce@example.com');
    await send('other@example.com');
    await until(() => (received.length >= 1 ? received : undefined));
    expect(received.map((r) => EmailEventBody.parse(r.body)['event-data'].recipient)).toEqual(['other@example.com']);
    await expect.poll(async () => (await eventsView()).failed).toBe(1);
    await fetch(`${sink.httpUrl}/_sim/reset`, { method: 'POST' });
    expect(await eventsView()).toMatchObject({ bounce: ['bounce@example.com'], sent: 0, failed: 0 });
  });
});
