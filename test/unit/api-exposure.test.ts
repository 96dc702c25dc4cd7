import { describe, expect, it } from 'vitest';
import { scrubLogLine, scrubUrl } from '../../src/api/log-redaction.js';
import { apiKeyEntry } from '../../src/api-keys.js';
import { apiKeysOf, ConfigError, DEFAULT_RATE_LIMIT_PER_MINUTE, isLoopbackHost, loadConfig, openApiRefusal, productionRefusals, rateLimitPerMinuteOf } from '../../src/config.js';

const HASHED = apiKeyEntry('ci', ['read', 'write'], 'aok_a-long-random-key-0123456789');

describe('an open API (no API_KEYS)', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', ' LOCALHOST '])('is allowed on loopback %j', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
    expect(openApiRefusal(loadConfig({ HOST: host }))).toBeUndefined();
  });

  it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'api.example.com', '128.0.0.1', '127.0.0.1.example.com'])(
    'is refused on %j with a message naming the ways out',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
      const message = openApiRefusal(loadConfig({ HOST: host }));
      expect(message).toContain(`HOST=${host}`);
      expect(message).toContain('API_KEYS');
      expect(message).toContain('ALLOW_OPEN_API=true');
    },
  );

  it('is refused when the ops listener (which serves the status page\'s /api routes) leaves loopback', () => {
    const message = openApiRefusal(loadConfig({ OPS_HOST: '0.0.0.0' }));
    expect(message).toContain('OPS_HOST=0.0.0.0');
    expect(message).toContain('OPS_HOST=127.0.0.1 to serve this machine only');
    expect(openApiRefusal(loadConfig({ OPS_HOST: '0.0.0.0', API_KEYS: HASHED }))).toBeUndefined();
  });

  it('starts anywhere with API_KEYS, or with ALLOW_OPEN_API=true', () => {
    expect(openApiRefusal(loadConfig({ HOST: '0.0.0.0', API_KEYS: HASHED }))).toBeUndefined();
    expect(openApiRefusal(loadConfig({ HOST: '0.0.0.0', ALLOW_OPEN_API: 'true' }))).toBeUndefined();
    expect(openApiRefusal(loadConfig({ HOST: '0.0.0.0', API_KEYS: ' , ' }))).toBeDefined();
  });
});

describe('keys written in the clear', () => {
  const plain = 'a-long-enough-key-123';

  it('are accepted for development on loopback, with every scope', () => {
    const config = loadConfig({ API_KEYS: plain });
    expect(openApiRefusal(config)).toBeUndefined();
    expect(apiKeysOf(config).map((k) => [k.plaintext, [...k.scopes]])).toEqual([[true, ['read', 'write', 'admin']]]);
  });

  it('are refused on any other HOST, naming API_KEYS and the hashed form, without echoing the key', () => {
    const message = openApiRefusal(loadConfig({ HOST: '0.0.0.0', API_KEYS: `${HASHED},${plain}` }));
    expect(message).toMatch(/^API_KEYS: 1 key\(s\) written in the clear, on HOST=0\.0\.0\.0/);
    expect(message).toContain('sha256:<hex>');
    expect(message).toContain('ao keys new');
    expect(message).not.toContain(plain);
  });

  it('are refused in production by every process, loopback or not', () => {
    const refusals = productionRefusals({ ...loadConfig({}), NODE_ENV: 'production', API_KEYS: plain });
    expect(refusals.filter((r) => r.startsWith('API_KEYS:'))).toEqual([expect.stringMatching(/1 key\(s\) written in the clear; production takes digests only/)]);
    expect(productionRefusals({ ...loadConfig({}), NODE_ENV: 'production', API_KEYS: HASHED }).filter((r) => r.startsWith('API_KEYS:'))).toEqual([]);
  });
});

describe('hardening configuration', () => {
  it('limits the rate by default wherever others can reach the API, and not on loopback (benchmarks, npm start)', () => {
    expect(rateLimitPerMinuteOf(loadConfig({}))).toBe(0);
    expect(rateLimitPerMinuteOf(loadConfig({ HOST: '::1' }))).toBe(0);
    expect(rateLimitPerMinuteOf(loadConfig({ HOST: '0.0.0.0' }))).toBe(DEFAULT_RATE_LIMIT_PER_MINUTE);
    expect(rateLimitPerMinuteOf(loadConfig({ HOST: '0.0.0.0', RATE_LIMIT_PER_MINUTE: '0' }))).toBe(0);
    expect(rateLimitPerMinuteOf(loadConfig({ RATE_LIMIT_PER_MINUTE: '120' }))).toBe(120);
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '-1' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
  });

  it('has defaults that leave benchmarks alone: shedding only on real overload', () => {
    const c = loadConfig({});
    expect(c.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS).toBe(1000);
    expect(c.OVERLOAD_MAX_HEAP_USED_RATIO).toBe(0.9);
    expect(c.OVERLOAD_MAX_RSS_MB).toBe(0);
    expect(c.ALLOW_OPEN_API).toBe(false);
    expect(c.READ_TIMEOUT_MS).toBeGreaterThan(c.QUERY_TIMEOUT_MS);
    expect(c.HANDLER_TIMEOUT_MS).toBeGreaterThan(Math.max(c.READ_TIMEOUT_MS, c.WRITE_TIMEOUT_MS));
  });

  it('refuses a read timeout that leaves no time after the query, and a handler timeout below the Temporal ones', () => {
    expect(() => loadConfig({ QUERY_TIMEOUT_MS: '3000', READ_TIMEOUT_MS: '3000' })).toThrow(/READ_TIMEOUT_MS/);
    expect(() => loadConfig({ WRITE_TIMEOUT_MS: '9000', HANDLER_TIMEOUT_MS: '8000' })).toThrow(/HANDLER_TIMEOUT_MS/);
  });

  it('refuses short or spaced API keys and malformed entries, without echoing them', () => {
    try {
      loadConfig({ API_KEYS: 'tiny,has a blank inside it ok,this-one-is-fine-12345' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/API_KEYS: 2 key/);
      expect((err as Error).message).not.toMatch(/tiny|blank inside/);
    }
    expect(() => loadConfig({ API_KEYS: `ci:superuser:sha256:${'0'.repeat(64)}` })).toThrow(/API_KEYS: entry 1 \(ci\): unknown scope "superuser"/);
    expect(apiKeysOf({ API_KEYS: ' a-long-enough-key-123 ,, b-long-enough-key-456 ' })).toHaveLength(2);
  });

  it('apiKeysOf: none when unset or blank; a bad value built by hand throws (never an open API), naming no key', () => {
    expect(apiKeysOf({})).toEqual([]);
    expect(apiKeysOf({ API_KEYS: ' , ' })).toEqual([]);
    expect(() => apiKeysOf({ API_KEYS: 'tiny-key' })).toThrow(/^API_KEYS: 1 key\(s\) shorter than 16 characters/);
    expect(() => apiKeysOf({ API_KEYS: 'tiny-key' })).not.toThrow(/tiny-key/);
  });
});

describe('log scrubbing', () => {
  it('keeps the path and the harmless query parameters of a logged URL', () => {
    expect(scrubUrl('/api/leads?email=a%40b.com&limit=5&stage=new&cursor=abc')).toBe(
      '/api/leads?email=[redacted]&limit=5&stage=new&cursor=[redacted]',
    );
    expect(scrubUrl('/api/leads/abc')).toBe('/api/leads/abc');
  });

  it('scrubs addresses, bearer tokens, keys and email/phone fields anywhere in a JSON line', () => {
    const line = JSON.stringify({
      msg: 'failed for Ada.L@Example.com',
      err: { message: 'x', stack: 'Error: boom a@b.io\n    at f', headers: { authorization: 'Bearer abc.def' } },
      lead: { phone: '+1 555 0100', email: 'z@y.com' },
      note: 'used key-a-0123456789abcdef and Bearer zzz',
    });
    const out = scrubLogLine(`${line}\n`, ['key-a-0123456789abcdef']);
    expect(out.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(out);
    expect(out).not.toMatch(/@|555|abc\.def|zzz|key-a-/i);
    expect(parsed.lead).toEqual({ phone: '[redacted]', email: '[redacted]' });
    expect(parsed.msg).toBe('failed for [redacted]');
  });

  it('leaves ordinary lines untouched (no parse on the hot path)', () => {
    const line = '{"level":30,"reqId":"x","msg":"request completed"}\n';
    expect(scrubLogLine(line)).toBe(line);
  });
});
