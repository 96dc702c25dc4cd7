import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutomationActivities, type AutomationDeps, type WebhookInput } from '../../src/activities/automation.js';
import type { Mailer } from '../../src/activities/mailer.js';
import { sendWebhookRequest } from '../../src/activities/webhook-request.js';
import { checkedLookup, refusedBy, type ResolveHost } from '../../src/activities/webhook-target.js';
import { webhookAllowedHostsOf } from '../../src/config.js';

// Automation webhooks against real local receivers: which addresses are refused, that the
// socket connects to the address that was checked, no redirects, a capped answer that never
// reaches the failure message, and the Standard Webhooks signature.

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

async function receiver(answer: (path: string, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      answer(req.url ?? '', res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, received };
}

const lead = { id: 'lead-1', email: 'ada@engines.example', version: 1 };
const leads = { read: async () => lead, change: async () => undefined, task: async () => null } as unknown as AutomationDeps['leads'];
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

function activities(over: Partial<AutomationDeps> = {}) {
  const deps: AutomationDeps = {
    catalog: {} as AutomationDeps['catalog'],
    leads,
    timeScale: 1,
    webhookBaseUrl: 'http://127.0.0.1:1',
    webhookTimeoutMs: 5_000,
    webhookAllowedHosts: [],
    secretEnv: { SALES_WEBHOOK_SECRET: SECRET, SALES_TOKEN: 'tok-0123456789' },
    unsubscribeBaseUrl: 'http://127.0.0.1/unsubscribe',
    unsubscribeSecret: 'x'.repeat(32),
    ...over,
  };
  return createAutomationActivities(deps, {} as Mailer, 'example.test');
}

const input = (url: string, extra: Partial<WebhookInput> = {}): WebhookInput => ({
  runId: 'run-1',
  stepKey: '2',
  leadId: 'lead-1',
  automationId: 'qualified-handoff',
  name: 'sales-handoff',
  url,
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

const resolving =
  (table: Record<string, string[]>): ResolveHost =>
  async (host) =>
    (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('webhook address rules', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['fd12:3456::1', 'unique local'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
  ])('refuses %s (%s)', (address, rule) => {
    expect(refusedBy(address)).toContain(rule);
  });

  it.each(['93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('lets the public address %s through', (address) => {
    expect(refusedBy(address)).toBeUndefined();
  });

  it('answers the socket both ways it asks, with the checked addresses only', async () => {
    const lookup = checkedLookup(resolving({ 'dual.test': ['93.184.216.34', '2606:4700::1111'], 'inner.test': ['10.0.0.1'] }), false);
    const ask = (host: string, options: object) =>
      new Promise<unknown[]>((resolve) => lookup(host, options as never, (err, ...rest) => resolve([err && (err as Error).name, ...rest])));
    expect(await ask('dual.test', { all: true })).toEqual([null, [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }]]);
    expect(await ask('dual.test', { family: 6 })).toEqual([null, '2606:4700::1111', 6]);
    expect(await ask('dual.test', {})).toEqual([null, '93.184.216.34', 4]);
    expect((await ask('inner.test', { all: true }))[0]).toBe('WebhookRefusedError');
  });

  it('allows the simulator host by default outside production only', () => {
    const base = { WEBHOOK_BASE_URL: undefined, CRM_BASE_URL: 'http://127.0.0.1:4010', WEBHOOK_ALLOWED_HOSTS: 'hooks.internal, crm.svc:8080' };
    expect(webhookAllowedHostsOf({ ...base, NODE_ENV: undefined })).toEqual(['hooks.internal', 'crm.svc:8080', '127.0.0.1:4010']);
    expect(webhookAllowedHostsOf({ ...base, NODE_ENV: 'production' })).toEqual(['hooks.internal', 'crm.svc:8080']);
  });
});

describe('webhook delivery', () => {
  let target: Awaited<ReturnType<typeof receiver>>;
  let elsewhere: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    elsewhere = await receiver((_path, res) => res.end('ok'));
    target = await receiver((path, res) => {
      if (path === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end();
      } else if (path === '/fail') {
        res.writeHead(500).end('stack trace with ada@engines.example and internal-db-password');
      } else if (path === '/huge') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        let sent = 0;
        const more = () => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        res.on('error', () => undefined);
        more();
      } else {
        res.writeHead(200).end('{"ok":true}');
      }
    });
  });

  afterAll(() => {
    target.server.close();
    elsewhere.server.close();
  });

  it('refuses a loopback target that is not on the allow-list, and sends it nothing', async () => {
    const before = target.received.length;
    const err = await failure(activities().postWebhook(input(`http://127.0.0.1:${target.port}/hook`)));
    expect(err.type).toBe('WebhookRefused');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/127\.0\.0\.1.*loopback.*WEBHOOK_ALLOWED_HOSTS/);
    expect(target.received.length).toBe(before);
  });

  it('refuses a name that resolves to the cloud metadata address, or to any internal address among public ones', async () => {
    const resolve = resolving({ 'metadata.test': ['169.254.169.254'], 'mixed.test': ['93.184.216.34', '10.0.0.5'], localhost: ['127.0.0.1'] });
    const metadata = await failure(activities({ webhookResolve: resolve }).postWebhook(input('http://metadata.test/latest/meta-data/')));
    expect(metadata.type).toBe('WebhookRefused');
    expect(metadata.message).toMatch(/metadata\.test resolves to 169\.254\.169\.254, which is link-local/);
    const mixed = await failure(activities({ webhookResolve: resolve }).postWebhook(input('http://mixed.test/hook')));
    expect(mixed.message).toMatch(/10\.0\.0\.5, which is private/);
    const local = await failure(activities().postWebhook(input(`http://localhost:${target.port}/hook`)));
    expect(local.type).toBe('WebhookRefused');
  });

  it('connects to the address it resolved and checked, for an allowed host', async () => {
    // `hooks.test` exists only in this resolver: the request arriving proves the socket used it.
    const resolve = resolving({ 'hooks.test': ['127.0.0.1'] });
    const result = await activities({ webhookResolve: resolve, webhookAllowedHosts: [`hooks.test:${target.port}`] }).postWebhook(input(`http://hooks.test:${target.port}/hook`));
    expect(result.status).toBe(200);
    expect(target.received.at(-1)?.path).toBe('/hook');
    // A different port of the same host is not allowed.
    const other = await failure(activities({ webhookResolve: resolve, webhookAllowedHosts: ['hooks.test:1'] }).postWebhook(input(`http://hooks.test:${target.port}/hook`)));
    expect(other.type).toBe('WebhookRefused');
  });

  it('does not follow a redirect: a permanent failure naming the status, nothing sent to the new location', async () => {
    const allowed = { webhookAllowedHosts: ['127.0.0.1'] };
    const err = await failure(activities(allowed).postWebhook(input(`http://127.0.0.1:${target.port}/redirect`, { headers: { Authorization: 'Bearer ${SALES_TOKEN}' } })));
    expect(err.type).toBe('WebhookRedirected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/answered 302/);
    expect(elsewhere.received).toEqual([]);
  });

  it('names the status and none of the answer in the failure', async () => {
    const err = await failure(activities({ webhookAllowedHosts: ['127.0.0.1'] }).postWebhook(input(`http://127.0.0.1:${target.port}/fail`)));
    expect(err.type).toBe('WebhookUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toBe('webhook sales-handoff answered 500');
  });

  it('reads at most 64 KiB of an answer, then closes it', async () => {
    const answer = await sendWebhookRequest({
      url: new URL(`http://127.0.0.1:${target.port}/huge`),
      headers: {},
      body: '{}',
      signal: AbortSignal.timeout(5_000),
      allowedHosts: ['127.0.0.1'],
    });
    expect(answer).toMatchObject({ status: 200, cut: true, answerBytes: 64 * 1024 });
  });

  it('signs with the Standard Webhooks scheme and fills header values from the environment', async () => {
    const result = await activities({ webhookAllowedHosts: ['127.0.0.1'] }).postWebhook(
      input(`http://127.0.0.1:${target.port}/signed`, { secretEnv: 'SALES_WEBHOOK_SECRET', headers: { Authorization: 'Bearer ${SALES_TOKEN}', 'X-Team': 'sales' } }),
    );
    expect(result.status).toBe(200);
    const got = target.received.at(-1)!;
    expect(got.headers.authorization).toBe('Bearer tok-0123456789');
    expect(got.headers['x-team']).toBe('sales');
    const id = got.headers['webhook-id'] as string;
    const timestamp = got.headers['webhook-timestamp'] as string;
    expect(id).toBe('run-1:2');
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    // Verified as a receiver would, from the secret's decoded bytes.
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${got.body}`).digest('base64');
    expect(got.headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('fails for good when a named secret is not set, and sends nothing', async () => {
    const before = target.received.length;
    const missing = await failure(
      activities({ webhookAllowedHosts: ['127.0.0.1'], secretEnv: {} }).postWebhook(input(`http://127.0.0.1:${target.port}/hook`, { secretEnv: 'SALES_WEBHOOK_SECRET' })),
    );
    expect(missing.type).toBe('WebhookSecretMissing');
    expect(missing.message).toMatch(/SALES_WEBHOOK_SECRET/);
    const header = await failure(
      activities({ webhookAllowedHosts: ['127.0.0.1'], secretEnv: {} }).postWebhook(input(`http://127.0.0.1:${target.port}/hook`, { headers: { Authorization: 'Bearer ${SALES_TOKEN}' } })),
    );
    expect(header.type).toBe('WebhookSecretMissing');
    expect(target.received.length).toBe(before);
  });
});
