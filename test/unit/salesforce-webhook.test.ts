import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSalesforceChanges, signWebhookBody, verifySignedWebhook } from '../../src/crm-inbound/signed-webhook.js';

// The signed change notice a Salesforce Flow sends us: signature checks and the body's schema.

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const SECRET = 'flow-secret';
const BODY = JSON.stringify({
  events: [{ eventId: 'e-1', objectType: 'Lead', externalId: 'lead-1', changedFields: { Status: 'Working - Contacted', OwnerId: '005000000000001AAA' }, changedAt: '2026-12-07T11:59:58.000Z' }],
});

/** The header as documented (docs/salesforce.md), computed here independently of signWebhookBody. */
function header(secret: string, body: string, atMs: number): string {
  const t = Math.floor(atMs / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

describe('verifySignedWebhook', () => {
  it('accepts a notice signed as documented, and what signWebhookBody makes', () => {
    expect(verifySignedWebhook({ header: header(SECRET, BODY, NOW), body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: true });
    expect(signWebhookBody(SECRET, BODY, NOW)).toBe(header(SECRET, BODY, NOW));
    expect(verifySignedWebhook({ header: header(SECRET, BODY, NOW), body: Buffer.from(BODY), secret: SECRET, now: NOW + 299_000 })).toEqual({ ok: true });
  });

  it('refuses a tampered body, a wrong secret and a re-signed timestamp', () => {
    const signed = header(SECRET, BODY, NOW);
    expect(verifySignedWebhook({ header: signed, body: BODY.replace('Working', 'Closed'), secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySignedWebhook({ header: signed, body: BODY, secret: 'other', now: NOW })).toEqual({ ok: false, reason: 'bad_signature' });
    const moved = signed.replace(/t=\d+/, `t=${Math.floor(NOW / 1000) + 1}`);
    expect(verifySignedWebhook({ header: moved, body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses old and far-future timestamps', () => {
    expect(verifySignedWebhook({ header: header(SECRET, BODY, NOW - 301_000), body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verifySignedWebhook({ header: header(SECRET, BODY, NOW + 301_000), body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(verifySignedWebhook({ header: header(SECRET, BODY, NOW - 61_000), body: BODY, secret: SECRET, now: NOW, maxAgeMs: 60_000 })).toMatchObject({ ok: false });
  });

  it('refuses missing and malformed headers', () => {
    expect(verifySignedWebhook({ header: undefined, body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifySignedWebhook({ header: 'v1=abc', body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(verifySignedWebhook({ header: `t=${NOW / 1000}`, body: BODY, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'malformed_signature' });
  });

  it('accepts either secret while one is rotated, and any of several v1 values', () => {
    expect(verifySignedWebhook({ header: header('old', BODY, NOW), body: BODY, secret: ['new', 'old'], now: NOW })).toEqual({ ok: true });
    const both = `${header('new', BODY, NOW)},v1=${header('old', BODY, NOW).split('v1=')[1]}`;
    expect(verifySignedWebhook({ header: both, body: BODY, secret: 'old', now: NOW })).toEqual({ ok: true });
    expect(verifySignedWebhook({ header: header('retired', BODY, NOW), body: BODY, secret: ['new', 'old'], now: NOW })).toMatchObject({ ok: false });
  });
});

describe('parseSalesforceChanges', () => {
  it('reads the events of a notice, from text or parsed JSON', () => {
    const parsed = parseSalesforceChanges(BODY);
    expect(parsed).toEqual({ ok: true, events: JSON.parse(BODY).events });
    expect(parseSalesforceChanges(JSON.parse(BODY))).toEqual(parsed);
  });

  it('refuses what is not a change notice', () => {
    expect(parseSalesforceChanges('not json')).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(parseSalesforceChanges({ events: [] })).toMatchObject({ ok: false });
    const event = JSON.parse(BODY).events[0];
    expect(parseSalesforceChanges({ events: [{ ...event, objectType: 'Contact' }] })).toMatchObject({ ok: false, reason: expect.stringContaining('events.0.objectType') });
    expect(parseSalesforceChanges({ events: [{ ...event, changedAt: 'yesterday' }] })).toMatchObject({ ok: false });
    expect(parseSalesforceChanges({ events: [{ ...event, changedFields: { Status: { nested: 1 } } }] })).toMatchObject({ ok: false });
    expect(parseSalesforceChanges({ events: [{ ...event, extra: 1 }] })).toMatchObject({ ok: false });
  });
});
