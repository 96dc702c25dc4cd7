import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEV_UNSUBSCRIBE_SECRET } from '../../src/automations/unsubscribe.js';
import { DEV_EMAIL_EVENTS_SECRET } from '../../src/email-events/signature.js';
import { codecCorsOriginsOf, ConfigError, loadConfig, openApiRefusal, productionRefusals, traceParentSourcesOf, trustProxyOf } from '../../src/config.js';
import { temporalConnectionOptions, temporalSecurity } from '../../src/temporal/connection.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const PRODUCTION_OK = {
  NODE_ENV: 'production',
  UNSUBSCRIBE_SECRET: 'a-long-random-production-secret',
  UNSUBSCRIBE_BASE_URL: 'https://leads.example.com/unsubscribe',
  TEMPORAL_CODEC_KEYS: `k1:${KEY}`,
  EMAIL_HASH_SECRETS: 'another-long-random-production-secret',
  SMTP_FROM: 'Sales <sales@leads.acme.test>',
  MESSAGE_ID_DOMAIN: 'leads.acme.test',
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('production mode (NODE_ENV=production)', () => {
  it('starts with its secrets set', () => {
    expect(loadConfig(PRODUCTION_OK).NODE_ENV).toBe('production');
  });

  it('refuses a missing secret, naming every problem in one message', () => {
    const message = problemsOf({ NODE_ENV: 'production' });
    expect(message).toMatch(/UNSUBSCRIBE_SECRET: required in production/);
    expect(message).toMatch(/UNSUBSCRIBE_BASE_URL: http:\/\/127\.0\.0\.1:3000\/unsubscribe is a loopback address/);
    expect(message).toMatch(/TEMPORAL_CODEC_KEYS: required in production/);
    expect(message).toMatch(/EMAIL_HASH_SECRETS: required in production/);
  });

  it('refuses the development secret published in the repository', () => {
    const message = problemsOf({ ...PRODUCTION_OK, UNSUBSCRIBE_SECRET: DEV_UNSUBSCRIBE_SECRET });
    expect(message).toMatch(/UNSUBSCRIBE_SECRET: is the development default/);
    expect(message).not.toMatch(/TEMPORAL_CODEC_KEYS/);
    expect(problemsOf({ ...PRODUCTION_OK, UNSUBSCRIBE_SECRET: 'short' })).toMatch(/UNSUBSCRIBE_SECRET: shorter than 16/);
  });

  it('refuses an unsubscribe link that is not https (RFC 8058 one-click needs https)', () => {
    expect(problemsOf({ ...PRODUCTION_OK, UNSUBSCRIBE_BASE_URL: 'http://leads.example.com/unsubscribe' })).toMatch(
      /UNSUBSCRIBE_BASE_URL: http:\/\/leads\.example\.com\/unsubscribe is not https/,
    );
    expect(problemsOf(PRODUCTION_OK)).toBe('');
  });

  it('refuses the development email events key, and a short one, but not an unset one (intake off)', () => {
    expect(problemsOf({ ...PRODUCTION_OK, EMAIL_EVENTS_SECRET: DEV_EMAIL_EVENTS_SECRET })).toMatch(/EMAIL_EVENTS_SECRET: is the development default/);
    expect(problemsOf({ ...PRODUCTION_OK, EMAIL_EVENTS_SECRET: 'short' })).toMatch(/EMAIL_EVENTS_SECRET: shorter than 16/);
    expect(problemsOf({ ...PRODUCTION_OK, EMAIL_EVENTS_SECRET: 'key-0123456789abcdef0123456789' })).toBe('');
  });

  it('refuses the example.com / example.org defaults for the sender and the Message-ID domain', () => {
    const { SMTP_FROM: _from, MESSAGE_ID_DOMAIN: _domain, ...withDefaults } = PRODUCTION_OK;
    const message = problemsOf(withDefaults);
    expect(message).toMatch(/SMTP_FROM: Sales Team <sales@example\.com> is an example address/);
    expect(message).toMatch(/MESSAGE_ID_DOMAIN: leads\.example\.com is an example domain/);
    expect(problemsOf({ ...PRODUCTION_OK, SMTP_FROM: 'noreply@example.org' })).toMatch(/SMTP_FROM: noreply@example\.org/);
    expect(problemsOf({ ...PRODUCTION_OK, MESSAGE_ID_DOMAIN: 'example.org' })).toMatch(/MESSAGE_ID_DOMAIN: example\.org/);
    // Blank (compose's empty DEPLOY_ value) is the default, refused alike.
    expect(problemsOf({ ...PRODUCTION_OK, MESSAGE_ID_DOMAIN: '' })).toMatch(/MESSAGE_ID_DOMAIN: leads\.example\.com is an example domain/);
    expect(problemsOf({ ...PRODUCTION_OK, SMTP_FROM: 'sales@notexample.com' })).toBe('');
  });

  it('refuses Temporal without TLS on a host that is not loopback, unless TLS or an API key is set', () => {
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: 'temporal.internal:7233' })).toMatch(
      /TEMPORAL_ADDRESS: temporal\.internal:7233 is reached without TLS; set TEMPORAL_TLS=true/,
    );
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS: 'true' })).toBe('');
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key' })).toBe('');
    // An API key sent over plain gRPC is the worst of both.
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key', TEMPORAL_TLS: 'false' })).toMatch(/TEMPORAL_ADDRESS/);
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: '[::1]:7233' })).toBe('');
    expect(problemsOf({ ...PRODUCTION_OK, TEMPORAL_ADDRESS: 'temporal.internal:7233', PLAINTEXT_ALLOWED_HOSTS: 'Temporal.Internal' })).toBe('');
  });

  it('refuses an http:// CRM that is not the local simulator or loopback', () => {
    const remote = { ...PRODUCTION_OK, CRM_START_SIMULATOR: 'false', CRM_BASE_URL: 'http://crm.internal:8080' };
    expect(problemsOf(remote)).toMatch(/CRM_BASE_URL: http:\/\/crm\.internal:8080 is not https/);
    expect(problemsOf({ ...remote, CRM_BASE_URL: 'https://crm.internal:8080' })).toBe('');
    expect(problemsOf({ ...remote, CRM_BASE_URL: 'http://127.0.0.1:4010' })).toBe('');
    expect(problemsOf({ ...remote, CRM_START_SIMULATOR: 'true' })).toBe('');
    expect(problemsOf({ ...remote, PLAINTEXT_ALLOWED_HOSTS: 'crm.internal' })).toBe('');
  });

  it('refuses SMTP without TLS to a relay that is not the local sink or loopback', () => {
    const remote = { ...PRODUCTION_OK, SMTP_START_SINK: 'false', SMTP_HOST: 'smtp.acme.test' };
    expect(problemsOf(remote)).toMatch(/SMTP_SECURE, SMTP_REQUIRE_TLS: mail to smtp\.acme\.test may go in the clear/);
    expect(problemsOf({ ...remote, SMTP_SECURE: 'true' })).toBe('');
    expect(problemsOf({ ...remote, SMTP_REQUIRE_TLS: 'true' })).toBe('');
    expect(problemsOf({ ...remote, SMTP_HOST: 'localhost' })).toBe('');
    expect(problemsOf({ ...remote, SMTP_START_SINK: 'true' })).toBe('');
    expect(problemsOf({ ...remote, PLAINTEXT_ALLOWED_HOSTS: 'smtp.acme.test' })).toBe('');
  });

  it('refuses an API without keys in production, even on loopback, unless ALLOW_OPEN_API=true', () => {
    expect(openApiRefusal(loadConfig(PRODUCTION_OK))).toMatch(/^API_KEYS: required in production/);
    expect(openApiRefusal(loadConfig({ ...PRODUCTION_OK, API_KEYS: `ci:read:sha256:${'0'.repeat(64)}` }))).toBeUndefined();
    expect(openApiRefusal(loadConfig({ ...PRODUCTION_OK, ALLOW_OPEN_API: 'true' }))).toBeUndefined();
    expect(openApiRefusal(loadConfig({}))).toBeUndefined();
  });

  it('asks nothing in development: the defaults start as they are', () => {
    expect(productionRefusals(loadConfig({}))).toEqual([]);
    expect(productionRefusals(loadConfig({ NODE_ENV: 'development' }))).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'test' }).UNSUBSCRIBE_SECRET).toBeUndefined();
  });
});

describe('payload codec keys', () => {
  it('parses a ring and says what is wrong with a bad one, never echoing the key', () => {
    expect(loadConfig({ TEMPORAL_CODEC_KEYS: `k2:${KEY}, k1:${KEY}` }).TEMPORAL_CODEC_KEYS).toBeDefined();
    expect(problemsOf({ TEMPORAL_CODEC_KEYS: 'k1:c2hvcnQ=' })).toMatch(/TEMPORAL_CODEC_KEYS: key k1 is not 32 bytes/);
    expect(problemsOf({ TEMPORAL_CODEC_KEYS: KEY })).toMatch(/TEMPORAL_CODEC_KEYS: entry 1 is not <id>:<base64 key>/);
    expect(problemsOf({ TEMPORAL_CODEC_KEYS: `k1:${KEY},k1:${KEY}` })).toMatch(/key id k1 is listed twice/);
    expect(problemsOf({ TEMPORAL_CODEC_KEYS: 'k1:c2hvcnQ=' })).not.toContain('c2hvcnQ');
  });
});

describe('Temporal TLS / mTLS / API key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
  const cert = join(dir, 'client.pem');
  const key = join(dir, 'client.key');
  const ca = join(dir, 'ca.pem');
  writeFileSync(cert, 'CERT');
  writeFileSync(key, 'KEY');
  writeFileSync(ca, 'CA');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is plain gRPC by default', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({ address: '127.0.0.1:7233' });
  });

  it('reads mTLS files, CA and server name into the connection options', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_TLS_CERT: cert,
      TEMPORAL_TLS_KEY: key,
      TEMPORAL_TLS_CA: ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const options = temporalConnectionOptions(config);
    expect(options.address).toBe('ns.acct.tmprl.cloud:7233');
    const tls = options.tls as { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } };
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(tls.serverRootCACertificate?.toString()).toBe('CA');
    expect(tls.clientCertPair?.crt.toString()).toBe('CERT');
    expect(tls.clientCertPair?.key.toString()).toBe('KEY');
  });

  it('turns TLS on for an API key (Temporal Cloud) unless TEMPORAL_TLS=false', () => {
    expect(temporalSecurity(loadConfig({ TEMPORAL_API_KEY: 'secret-key' }))).toEqual({ apiKey: 'secret-key', tls: {} });
    expect(temporalSecurity(loadConfig({ TEMPORAL_API_KEY: 'secret-key', TEMPORAL_TLS: 'false' }))).toEqual({ apiKey: 'secret-key', tls: false });
    expect(temporalSecurity(loadConfig({ TEMPORAL_TLS: 'true' }))).toEqual({ tls: {} });
  });

  it('refuses half an mTLS pair, missing files and TLS files with TLS off', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT: cert })).toMatch(/TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY: mTLS needs both/);
    expect(problemsOf({ TEMPORAL_TLS_CA: join(dir, 'nope.pem') })).toMatch(/TEMPORAL_TLS_CA: no such file/);
    expect(problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca })).toMatch(/TEMPORAL_TLS: is false/);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, unknown>; healthcheck?: { disable?: boolean; test?: unknown }; restart?: string; command?: unknown; ports?: string[] }>;
  };
  // What the compose file's header asks an operator for (scripts/check-compose.mjs passes the same).
  const DEPLOY = {
    DEPLOY_API_KEYS: 'compose-check:read+write+admin:sha256:14f44f2da2954271b2f882c9b6ba2de13fb2d6d929fb6b088703a62852fb8e44',
    DEPLOY_UNSUBSCRIBE_SECRET: 'compose-check-secret-0123456789',
    DEPLOY_UNSUBSCRIBE_BASE_URL: 'https://leads.example.com/unsubscribe',
    DEPLOY_EMAIL_HASH_SECRETS: 'compose-check-hash-secret-0123456789',
    DEPLOY_SMTP_FROM: 'Sales <sales@leads.acme.test>',
    DEPLOY_MESSAGE_ID_DOMAIN: 'leads.acme.test',
    DEPLOY_TEMPORAL_CODEC_KEYS: `k1:${KEY}`,
  };
  /** A service's environment as compose would pass it: `${X:-default}` (blank = default) and `${X-default}` (unset = default). */
  const envOf = (service: string, deploy: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(compose.services[service]?.environment ?? {}).map(([name, value]) => [
        name,
        String(value).replace(/\$\{(\w+)(:?-)([^}]*)\}/g, (_m, v: string, op: string, def: string) => {
          const given = deploy[v];
          return given === undefined || (op === ':-' && given === '') ? def : given;
        }),
      ]),
    );

  it('starts the API and the workers in production mode with the operator settings, simulators included', () => {
    for (const service of ['api', 'worker']) {
      const config = loadConfig(envOf(service, DEPLOY));
      expect(config.NODE_ENV).toBe('production');
      expect(config.PLAINTEXT_ALLOWED_HOSTS).toBe('temporal-frontend,crm-simulator,smtp-sink');
    }
    expect(openApiRefusal(loadConfig(envOf('api', DEPLOY)))).toBeUndefined();
  });

  it('refuses the compose stack without a sender or with the simulators excluded from plain TCP', () => {
    const { DEPLOY_SMTP_FROM: _from, ...noSender } = DEPLOY;
    expect(problemsOf(envOf('worker', noSender))).toMatch(/SMTP_FROM: .* is an example address/);
    const strict = problemsOf(envOf('worker', { ...DEPLOY, DEPLOY_PLAINTEXT_ALLOWED_HOSTS: '' }));
    expect(strict).toMatch(/TEMPORAL_ADDRESS: temporal-frontend:7233 is reached without TLS/);
    expect(strict).toMatch(/CRM_BASE_URL: http:\/\/crm-simulator:4010 is not https/);
    expect(strict).toMatch(/mail to smtp-sink may go in the clear/);
    const { DEPLOY_API_KEYS: _keys, ...open } = DEPLOY;
    expect(openApiRefusal(loadConfig(envOf('api', open)))).toMatch(/API_KEYS: required in production/);
  });

  it('passes the secrets, links and Temporal security settings into the API and the workers', () => {
    for (const service of ['api', 'worker']) {
      const env = compose.services[service]?.environment ?? {};
      for (const name of [
        'NODE_ENV',
        'UNSUBSCRIBE_SECRET',
        'UNSUBSCRIBE_BASE_URL',
        'WEBHOOK_BASE_URL',
        'TEMPORAL_CODEC_KEYS',
        'TEMPORAL_API_KEY',
        'TEMPORAL_TLS',
        'TEMPORAL_TLS_CERT',
        'TEMPORAL_TLS_KEY',
        'TEMPORAL_TLS_CA',
        'TEMPORAL_TLS_SERVER_NAME',
      ]) {
        expect(env, `${service} lacks ${name}`).toHaveProperty(name);
      }
      expect(env.NODE_ENV).toBe('production');
    }
  });

  it('publishes the API port to clients and the API\'s ops listener on the host\'s loopback only', () => {
    const api = compose.services.api!;
    const ops = String(api.environment?.OPS_PORT);
    expect(api.ports).toEqual(['${DEPLOY_API_PORT:-3000}:3000', `127.0.0.1:\${DEPLOY_OPS_PORT:-${ops}}:${ops}`]);
    // Every other published port of the file is loopback-only too.
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'api') continue;
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    // The Web UI's browser calls the codec on the ops listener, as published.
    expect(String(compose.services['temporal-ui']?.environment?.TEMPORAL_CODEC_ENDPOINT)).toBe(`\${DEPLOY_TEMPORAL_CODEC_ENDPOINT:-http://localhost:${ops}/codec}`);
  });

  it('has a health check on every long-running service but the API, whose image has one', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === 'no' || name === 'api') continue;
      expect(service.healthcheck?.test, `${name} has no health check`).toBeDefined();
      expect(service.healthcheck?.disable, name).not.toBe(true);
    }
    expect(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')).toMatch(/^HEALTHCHECK [\s\S]*?\/health/m);
  });

  it('builds on the exact Node release the tests run on (.node-version)', () => {
    const nodeVersion = readFileSync(new URL('../../.node-version', import.meta.url), 'utf8').trim().replace(/^v/, '');
    const image = /^ARG NODE_IMAGE=node:(\S+)-bookworm-slim$/m.exec(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))?.[1];
    expect(image).toBe(nodeVersion);
  });
});

describe('TRUST_PROXY and TRACE_PARENT_FROM', () => {
  it('turn into Fastify\'s trustProxy and the trusted trace sources, refusing what is no address', () => {
    expect(trustProxyOf(loadConfig({}))).toBe(false);
    expect(trustProxyOf(loadConfig({ TRUST_PROXY: 'true' }))).toBe(true);
    expect(problemsOf({ TRUST_PROXY: '2' })).toMatch(/TRUST_PROXY: a hop count trusts no proxy in Fastify 5/);
    expect(trustProxyOf(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }))).toEqual(['10.0.0.0/8', '192.168.1.7', '::1']);
    expect(problemsOf({ TRUST_PROXY: 'proxy.internal' })).toMatch(/TRUST_PROXY: proxy\.internal is not an IP address or CIDR range/);
    expect(problemsOf({ TRUST_PROXY: '10.0.0.0/33' })).toMatch(/TRUST_PROXY: 10\.0\.0\.0\/33 is not/);
    expect(traceParentSourcesOf(loadConfig({}))).toEqual(['127.0.0.0/8', '::1']);
    expect(traceParentSourcesOf(loadConfig({ TRACE_PARENT_FROM: '10.1.0.0/16' }))).toEqual(['10.1.0.0/16']);
    expect(problemsOf({ TRACE_PARENT_FROM: 'everyone' })).toMatch(/TRACE_PARENT_FROM: everyone is not an IP address/);
  });
});

describe('codec endpoint CORS origins', () => {
  it('default to the dev server UI on TEMPORAL_UI_PORT, or the configured list', () => {
    expect(codecCorsOriginsOf(loadConfig({ TEMPORAL_UI_PORT: '8917' }))).toEqual(['http://localhost:8917', 'http://127.0.0.1:8917']);
    expect(codecCorsOriginsOf(loadConfig({ TEMPORAL_CODEC_CORS_ORIGINS: 'https://ui.example.com, http://localhost:8080' }))).toEqual([
      'https://ui.example.com',
      'http://localhost:8080',
    ]);
  });
});
