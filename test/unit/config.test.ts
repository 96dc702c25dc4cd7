import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig } from '../../src/config.js';
import { tracesEndpoint } from '../../src/tracing/tracing.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('configuration', () => {
  it('has a default for every variable, so a bare environment starts', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.TEMPORAL_DB_FILE).toBe('.data/temporal.sqlite');
  });

  it('stops with a message naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', RETRY_MAX_ATTEMPTS: '0', CRM_BASE_URL: 'not a url' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', RETRY_MAX_ATTEMPTS: '0', CRM_BASE_URL: 'not a url' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/PORT/);
      expect(message).toMatch(/RETRY_MAX_ATTEMPTS/);
      expect(message).toMatch(/CRM_BASE_URL/);
    }
  });

  it('refuses a task stream heartbeat no sooner than the idle socket timeout', () => {
    expect(() => loadConfig({ SSE_HEARTBEAT_MS: '60000', CONNECTION_TIMEOUT_MS: '30000' })).toThrow(/SSE_HEARTBEAT_MS: must be less than CONNECTION_TIMEOUT_MS/);
    expect(loadConfig({ SSE_HEARTBEAT_MS: '60000', CONNECTION_TIMEOUT_MS: '0' }).SSE_HEARTBEAT_MS).toBe(60_000);
  });

  it('refuses a CRM rate limit too small to give every worker process a share', () => {
    expect(() => loadConfig({ CRM_RATE_LIMIT_PER_SECOND: '2', WORKER_PROCESSES: '3' })).toThrow(/CRM_RATE_LIMIT_PER_SECOND: 2 cannot be shared by WORKER_PROCESSES=3/);
    expect(loadConfig({ CRM_RATE_LIMIT_PER_SECOND: '3', WORKER_PROCESSES: '3' }).CRM_RATE_LIMIT_PER_SECOND).toBe(3);
    expect(loadConfig({ CRM_RATE_LIMIT_PER_SECOND: '0', WORKER_PROCESSES: '3' }).CRM_RATE_LIMIT_PER_SECOND).toBe(0);
  });

  it('names what the chosen CRM adapter lacks, and a field map that is no JSON object of names', () => {
    expect(() => loadConfig({ CRM_ADAPTER: 'hubspot', CRM_START_SIMULATOR: 'false' })).toThrow(/HUBSPOT_ACCESS_TOKEN: required with CRM_ADAPTER=hubspot/);
    const salesforce = (() => {
      try {
        loadConfig({ CRM_ADAPTER: 'salesforce', CRM_START_SIMULATOR: 'false', SALESFORCE_CLIENT_ID: 'id', SALESFORCE_FIELD_MAP: '{"industry": 3}' });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(salesforce).toMatch(/SALESFORCE_INSTANCE_URL: required/);
    expect(salesforce).toMatch(/SALESFORCE_CLIENT_SECRET: required/);
    expect(salesforce).not.toMatch(/SALESFORCE_CLIENT_ID/);
    expect(salesforce).toMatch(/SALESFORCE_FIELD_MAP: must be a JSON object of non-empty strings/);
    expect(loadConfig({ CRM_ADAPTER: 'hubspot', CRM_START_SIMULATOR: 'false', HUBSPOT_ACCESS_TOKEN: 'pat-na1-x', HUBSPOT_PROPERTY_MAP: '{"industry":"industry"}' })).toMatchObject({
      CRM_ADAPTER: 'hubspot',
      HUBSPOT_BASE_URL: 'https://api.hubapi.com',
    });
  });

  it('points a vendor adapter at its local simulator on CRM_BASE_URL while CRM_START_SIMULATOR is on', () => {
    expect(loadConfig({ CRM_ADAPTER: 'hubspot', CRM_BASE_URL: 'http://127.0.0.1:4999' })).toMatchObject({
      HUBSPOT_BASE_URL: 'http://127.0.0.1:4999',
      HUBSPOT_ACCESS_TOKEN: 'pat-local-simulator',
    });
    expect(loadConfig({ CRM_ADAPTER: 'salesforce' })).toMatchObject({ SALESFORCE_INSTANCE_URL: 'http://127.0.0.1:4010', SALESFORCE_CLIENT_ID: 'sim-client-id' });
  });

  it('parses booleans and numbers from strings', () => {
    const config = loadConfig({ SMTP_SECURE: 'yes', CRM_START_SIMULATOR: '0', API_PROCESSES: '3' });
    expect(config.SMTP_SECURE).toBe(true);
    expect(config.CRM_START_SIMULATOR).toBe(false);
    expect(config.API_PROCESSES).toBe(3);
  });

  it('is documented: every variable is in .env.example and in docs/configuration.md', () => {
    const example = read('.env.example');
    const reference = read('docs/configuration.md');
    for (const name of Object.keys(configSchema.shape)) {
      expect(example, `.env.example lacks ${name}`).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
      expect(reference, `docs/configuration.md lacks ${name}`).toContain(`\`${name}\``);
    }
  });

  it('turns tracing on only when configured, and names a bad endpoint', () => {
    const endpoint = (env: Record<string, string>) => tracesEndpoint(loadConfig(env));
    expect(endpoint({})).toBeUndefined();
    expect(endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
    expect(endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(endpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/traces' })).toBe('http://tempo:4318/otlp/traces');
    expect(endpoint({ TRACING_ENABLED: 'true' })).toBe('http://localhost:4318/v1/traces');
    expect(endpoint({ TRACING_ENABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318 please' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadConfig({ TRACING_ENABLED: 'maybe' })).toThrow(/TRACING_ENABLED/);
  });
});
