import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHubSpotEvents, verifyHubSpotSignatureV3 } from '../../src/crm-inbound/hubspot-webhook.js';
import { signV3, startHubSpotSimulator, type HubSpotSimulator } from '../../tooling/simulators/hubspot/simulator.js';

// HubSpot webhooks: what the simulator sends for a rep's edit verifies and parses; tampered or old ones do not.

const SECRET = 'client-secret-123';

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let sim: HubSpotSimulator | undefined;
let receiver: Server | undefined;

afterEach(async () => {
  await sim?.close();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  sim = undefined;
  receiver = undefined;
});

/** A webhook target that keeps each request's raw body, as the API route must to verify it. */
async function startReceiver(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/hubspot?source=crm`, received };
}

/** A rep edits contact L1's first name in HubSpot; answers the webhook request the simulator sent for it. */
async function repEdit(): Promise<{ request: Received; targetUrl: string; contactId: string }> {
  const { url, received } = await startReceiver();
  sim = await startHubSpotSimulator({ port: 0, webhooks: { targetUrl: url, clientSecret: SECRET, appId: 777 } });
  const headers = { authorization: `Bearer ${sim.accessToken}`, 'content-type': 'application/json' };
  await fetch(`${sim.url}/crm/v3/objects/contacts/batch/upsert`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ inputs: [{ idProperty: 'ao_lead_id', id: 'L1', properties: { email: 'ada@example.com', firstname: 'Ada' } }] }),
  });
  const contactId = sim.contactByLeadId('L1')!.id;
  await fetch(`${sim.url}/crm/v3/objects/contacts/${contactId}`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ properties: { firstname: 'Augusta', lastname: 'King' } }),
  });
  await sim.webhooksSettled();
  expect(received).toHaveLength(1);
  expect(sim.webhookDeliveries()).toMatchObject([{ status: 204 }]);
  return { request: received[0]!, targetUrl: url, contactId };
}

function check(request: Received, uri: string, overrides: { body?: string; now?: number } = {}) {
  const timestamp = request.headers['x-hubspot-request-timestamp'] as string | undefined;
  return verifyHubSpotSignatureV3({
    method: request.method,
    uri,
    body: overrides.body ?? request.body,
    timestamp,
    signature: request.headers['x-hubspot-signature-v3'] as string | undefined,
    clientSecret: SECRET,
    now: overrides.now ?? Number(timestamp) + 1_000,
  });
}

describe('HubSpot webhooks: v3 signature', () => {
  it('accepts the webhook the simulator signed for a rep edit', async () => {
    const { request, targetUrl } = await repEdit();
    expect(check(request, targetUrl)).toEqual({ ok: true });
  });

  it('refuses a tampered body, another URI, a wrong secret, a missing header and a request over 5 minutes old', async () => {
    const { request, targetUrl } = await repEdit();
    expect(check(request, targetUrl, { body: request.body.replace('Augusta', 'Mallory') })).toMatchObject({ ok: false, reason: 'signature does not match' });
    expect(check(request, `${targetUrl}&x=1`)).toMatchObject({ ok: false });
    const timestamp = Number(request.headers['x-hubspot-request-timestamp']);
    expect(check(request, targetUrl, { now: timestamp + 300_001 })).toMatchObject({ ok: false, reason: expect.stringMatching(/old/) });
    expect(check(request, targetUrl, { now: timestamp + 299_000 })).toEqual({ ok: true });
    const base = { method: 'POST', uri: targetUrl, body: request.body, timestamp: String(timestamp), now: timestamp };
    expect(verifyHubSpotSignatureV3({ ...base, signature: request.headers['x-hubspot-signature-v3'] as string, clientSecret: 'other' })).toMatchObject({ ok: false });
    expect(verifyHubSpotSignatureV3({ ...base, signature: undefined, clientSecret: SECRET })).toMatchObject({ ok: false, reason: expect.stringMatching(/missing/) });
    expect(verifyHubSpotSignatureV3({ ...base, signature: 'short', clientSecret: SECRET })).toMatchObject({ ok: false });
  });

  it('decodes the characters HubSpot decodes in the URI before signing', () => {
    const timestamp = '1765100000000';
    const signature = signV3(SECRET, 'POST', 'https://api.example.com/hooks?next=a:b/c', '[]', timestamp);
    const input = { method: 'POST', body: '[]', timestamp, signature, clientSecret: SECRET, now: Number(timestamp) };
    expect(verifyHubSpotSignatureV3({ ...input, uri: 'https://api.example.com/hooks?next=a%3Ab%2Fc' })).toEqual({ ok: true });
  });
});

describe('HubSpot webhooks: events', () => {
  it('parses the contact.propertyChange events of a rep edit, one per changed property', async () => {
    const { request, contactId } = await repEdit();
    const parsed = parseHubSpotEvents(JSON.parse(request.body));
    expect(parsed).toMatchObject({ ok: true, ignored: 0 });
    const events = parsed.ok ? parsed.events : [];
    expect(events.map((e) => [e.objectId, e.propertyName, e.propertyValue])).toEqual([
      [Number(contactId), 'firstname', 'Augusta'],
      [Number(contactId), 'lastname', 'King'],
    ]);
    expect(events[0]).toMatchObject({ subscriptionType: 'contact.propertyChange', appId: 777, attemptNumber: 0, changeSource: 'CRM_UI' });
  });

  it('ignores other subscription types and refuses a malformed body', () => {
    const change = { eventId: 1, subscriptionId: 2, portalId: 3, appId: 4, occurredAt: 5, subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 6, propertyName: 'email', propertyValue: 'a@example.com', changeSource: 'CRM_UI' };
    const parsed = parseHubSpotEvents([change, { ...change, subscriptionType: 'contact.creation' }]);
    expect(parsed).toMatchObject({ ok: true, ignored: 1, events: [change] });
    expect(parseHubSpotEvents({ not: 'an array' })).toMatchObject({ ok: false });
    expect(parseHubSpotEvents([{ ...change, objectId: 'six' }])).toMatchObject({ ok: false, reason: expect.stringMatching(/objectId/) });
  });
});
