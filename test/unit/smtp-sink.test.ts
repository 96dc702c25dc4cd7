import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSmtpSink } from '../../tooling/simulators/smtp-sink.js';
import type { SmtpSink } from '../../tooling/simulators/smtp-sink.js';

let sink: SmtpSink;

beforeEach(async () => {
  sink = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
});

afterEach(async () => {
  await sink.close();
});

function transport() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: sink.smtpPort, secure: false, ignoreTLS: true });
}

function send(overrides: Record<string, unknown> = {}) {
  return transport().sendMail({
    from: 'Acme <noreply@acme.test>',
    to: 'lead@example.com',
    subject: 'Welcome, ünïcode',
    text: 'Hello there',
    html: '<p>Hello there</p>',
    headers: { 'X-Lead-Id': 'lead-42' },
    ...overrides,
  });
}

async function json(path: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`${sink.httpUrl}${path}`, init);
  return res.json();
}

function setFaults(faults: Record<string, unknown>) {
  return fetch(`${sink.httpUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
}

describe('SMTP sink: recording', () => {
  it('records an accepted message with its Message-ID', async () => {
    const info = await send({ messageId: '<welcome-1@acme.test>', bcc: 'audit@acme.test' });
    expect(info.response).toMatch(/^250 /);

    const { messages } = await json('/messages');
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({
      id: 1,
      messageId: 'welcome-1@acme.test',
      from: 'noreply@acme.test',
      to: ['lead@example.com', 'audit@acme.test'],
      subject: 'Welcome, ünïcode',
      text: 'Hello there',
      html: '<p>Hello there</p>',
    });
    expect(message.headers['x-lead-id']).toBe('lead-42');
    expect(message.headers['message-id']).toBe('<welcome-1@acme.test>');
    expect(message.size).toBeGreaterThan(100);
    expect(Date.parse(message.receivedAt)).not.toBeNaN();

    expect(await json('/messages/1')).toEqual(message);
    expect((await fetch(`${sink.httpUrl}/messages/99`)).status).toBe(404);
  });

  it('filters by recipient and Message-ID, and counts duplicate Message-IDs', async () => {
    await send({ to: 'a@example.com', messageId: '<m1@acme.test>' });
    await send({ to: 'b@example.com', messageId: '<m2@acme.test>' });
    await send({ to: 'a@example.com', messageId: '<m1@acme.test>' });

    expect((await json('/messages?to=A@example.com')).messages).toHaveLength(2);
    expect((await json('/messages?message_id=m2@acme.test')).messages).toHaveLength(1);
    expect((await json(`/messages?message_id=${encodeURIComponent('<m1@acme.test>')}`)).messages).toHaveLength(2);
    expect(await json('/_sim/stats')).toEqual({ accepted: 3, rejected: 0, dropped: 0, duplicateMessageIds: 1 });

    expect((await fetch(`${sink.httpUrl}/messages`, { method: 'DELETE' })).status).toBe(200);
    expect((await json('/messages')).messages).toEqual([]);
  });

  it('answers health checks', async () => {
    expect((await fetch(`${sink.httpUrl}/health`)).status).toBe(200);
  });
});

describe('SMTP sink: faults', () => {
  it('sets, reads and clears faults over HTTP', async () => {
    expect((await setFaults({ tempFailRate: 0.25, latencyMs: 5 })).status).toBe(200);
    expect(await json('/_sim/faults')).toMatchObject({ tempFailRate: 0.25, latencyMs: 5, failNext: 0 });
    expect((await setFaults({ tempFailRate: 3 })).status).toBe(400);
    await fetch(`${sink.httpUrl}/_sim/faults`, { method: 'DELETE' });
    expect(await json('/_sim/faults')).toMatchObject({ tempFailRate: 0, latencyMs: 0 });
  });

  it('gives a 451 temporary failure for tempFailRate 1', async () => {
    await setFaults({ tempFailRate: 1 });
    await expect(send()).rejects.toMatchObject({ responseCode: 451 });
    expect((await json('/messages')).messages).toEqual([]);
    expect(await json('/_sim/stats')).toMatchObject({ accepted: 0, rejected: 1 });
  });

  it('fails exactly the next N messages with failNext', async () => {
    await setFaults({ failNext: 2 });
    await expect(send()).rejects.toMatchObject({ responseCode: 451 });
    await expect(send()).rejects.toMatchObject({ responseCode: 451 });
    await expect(send()).resolves.toMatchObject({ response: expect.stringMatching(/^250 /) });
    expect(await json('/_sim/stats')).toMatchObject({ accepted: 1, rejected: 2 });
  });

  it('drops the connection at the end of DATA without replying', async () => {
    await setFaults({ dropRate: 1 });
    const error = await send().then(
      () => undefined,
      (err: { code?: string; responseCode?: number }) => err,
    );
    expect(error).toMatchObject({ code: 'ECONNECTION' });
    expect(error?.responseCode).toBeUndefined();
    expect(await json('/_sim/stats')).toMatchObject({ accepted: 0, dropped: 1 });
    expect((await json('/messages')).messages).toEqual([]);
  });

  it('rejects the next N recipients with 550', async () => {
    await setFaults({ rejectRcptNext: 1 });
    await expect(send()).rejects.toMatchObject({ responseCode: 550 });

    await setFaults({ rejectRcptNext: 1 });
    const info = await send({ to: ['first@example.com', 'second@example.com'] });
    expect(info.rejected).toEqual(['first@example.com']);
    expect((await json('/messages')).messages[0].to).toEqual(['second@example.com']);
    expect(await json('/_sim/stats')).toMatchObject({ accepted: 1, rejected: 2 });
  });

  it('delays the reply to DATA by latencyMs', async () => {
    await setFaults({ latencyMs: 200 });
    const started = Date.now();
    await send();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('resets messages, stats and faults', async () => {
    await send({ messageId: '<r@acme.test>' });
    await send({ messageId: '<r@acme.test>' });
    await setFaults({ failNext: 5 });

    expect((await fetch(`${sink.httpUrl}/_sim/reset`, { method: 'POST' })).status).toBe(200);
    expect((await json('/messages')).messages).toEqual([]);
    expect(await json('/_sim/stats')).toEqual({ accepted: 0, rejected: 0, dropped: 0, duplicateMessageIds: 0 });
    expect(await json('/_sim/faults')).toMatchObject({ failNext: 0 });

    await send({ messageId: '<r@acme.test>' });
    expect((await json('/messages')).messages[0]).toMatchObject({ id: 1 });
    expect((await json('/_sim/stats')).duplicateMessageIds).toBe(0);
  });
});
