import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { tokenBuckets } from '../../src/api/rate-limit.js';
import { apiKeysOf } from '../../src/config.js';
import { leadServiceFromConfig } from '../../src/api/compose.js';
import { LEAD_STAGES } from '../../src/domain/lead.js';
import { call, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Property-based: generated requests against every route of an app with a real Temporal
// client (no worker: accepted writes are simply left queued). Whatever comes in, the answer
// is below 500 and, when it is an error, in the contract's error shape. Seeds are random
// per run; a failure prints the seed and the shrunk counterexample to replay it with
// fc.assert(..., { seed, path }).

let h: Harness;
let keyed: FastifyInstance;
let leadId: string;
let taskId: string;
const KEY = 'fuzz-key-0123456789abcdef';
const UNKNOWN_LEAD = 'aaaaaaaaaaaaaaaaaaaa';

beforeAll(async () => {
  h = await startHarness();
  keyed = await buildApp({ leads: leadServiceFromConfig(h.config, h.client), apiKeys: apiKeysOf({ API_KEYS: KEY }), rateLimiter: tokenBuckets(20) });
  const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('fuzz') });
  expect(created.status).toBe(202);
  leadId = created.body.id;
  taskId = created.body.task_id;
});

afterAll(async () => {
  if (process.env.FUZZ_STATS) console.log([...seen].sort().map(([k, n]) => `${k}: ${n}`).join('\n'));
  await keyed?.close();
  await h?.close();
});

// ---------------------------------------------------------------- building blocks

/** encodeURIComponent that also encodes surrogate halves (as the invalid UTF-8 a client could send). */
function pct(s: string): string {
  return s
    .split(/([\ud800-\udfff])/)
    .map((part, i) => {
      if (i % 2 === 0) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nastyChar = fc.oneof(
  fc.constantFrom('\r', '\n', '\r\n', '\u0000', '\u0085', '\u2028', '\u2029', '\u202e', '\ufeff', '"', "'", '\\', '<', '%', '@', '\t'),
  loneSurrogate,
);
/** Strings of every kind: printable, full Unicode, control characters, lone surrogates. */
const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 3 }), nastyChar), maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);
const emailish = fc.oneof(
  { weight: 3, arbitrary: fc.emailAddress() },
  { weight: 1, arbitrary: fc.tuple(fc.emailAddress(), nastyChar, fc.string({ maxLength: 20 })).map(([e, c, s]) => `${e}${c}${s}`) },
  { weight: 1, arbitrary: fc.emailAddress().map((e) => `  ${e.toUpperCase()}  `) },
  { weight: 1, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom('"q"@example.com', 'a@[127.0.0.1]', 'üser@exämple.com', "o'brien@example.com", 'a@b', '@', '') },
);
const keyish = fc.oneof(
  fc.constantFrom(
    'email', 'first_name', 'last_name', 'company', 'phone', 'source', 'stage', 'tags', 'custom', 'unsubscribed',
    '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'id', 'version', 'score',
  ),
  anyString,
);
const scalar = fc.oneof(anyString, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('1e400', '-0', 'NaN'));
/** Any JSON, with keys that matter to this API over-represented. */
const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(keyish, tie('value')), { maxLength: 5 }).map((pairs) => new RawObject(pairs)),
  ),
})).value;

/** An object serialized by hand, so `__proto__` and duplicate keys reach the parser as written. */
class RawObject {
  constructor(readonly pairs: Array<[string, unknown]>) {}
}
function toJson(value: unknown): string {
  if (value instanceof RawObject) return `{${value.pairs.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? '0' : '1e400';
  return JSON.stringify(value) ?? 'null';
}

/** A lead the API accepts (mostly: the generators are loose at the edges on purpose). */
const printable = (maxLength: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength });
const validLead = fc.record(
  {
    email: fc.stringMatching(/^[a-z][a-z0-9_+-]{0,15}(\.[a-z0-9]{1,8})?@[a-z][a-z0-9-]{0,10}\.[a-z]{2,6}$/),
    first_name: printable(50),
    last_name: printable(50),
    company: printable(100),
    phone: fc.stringMatching(/^\+?[0-9][0-9 ()-]{2,20}$/),
    source: printable(50),
    stage: fc.constantFrom(...LEAD_STAGES),
    tags: fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9 -]{0,20}$/), { maxLength: 10 }),
    custom: fc.dictionary(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,20}$/), fc.oneof(printable(100), fc.integer(), fc.boolean()), {
      maxKeys: 10,
    }),
    unsubscribed: fc.boolean(),
  },
  { requiredKeys: ['email'] },
);
type Pairs = Array<[string, unknown]>;
/** One way to spoil a lead: a field retyped or given a nasty value, an extra key, a null, a dropped email. */
const mutation = fc.oneof(
  fc.tuple(keyish, fc.oneof(anyString, jsonish, emailish)).map(([k, v]) => (pairs: Pairs): Pairs => [...pairs.filter(([pk]) => pk !== k), [k, v]]),
  fc.tuple(keyish, jsonish).map(([k, v]) => (pairs: Pairs): Pairs => [...pairs, [k, v]]),
  fc.constantFrom('first_name', 'company', 'phone', 'tags', 'custom', 'email').map((k) => (pairs: Pairs): Pairs => [...pairs.filter(([pk]) => pk !== k), [k, null]]),
  fc.constant((pairs: Pairs): Pairs => pairs.filter(([k]) => k !== 'email')),
  fc.tuple(fc.constantFrom('first_name', 'company', 'source'), nastyChar).map(([k, c]) => (pairs: Pairs): Pairs =>
    pairs.map(([pk, v]) => [pk, pk === k && typeof v === 'string' ? `${v}${c}${v}` : v]),
  ),
);
/** A valid lead with zero to two mutations, serialized by hand (so `__proto__` stays a key). */
const mutatedLead = fc.tuple(validLead, fc.array(mutation, { maxLength: 2 })).map(([lead, mutations]) => {
  const pairs = mutations.reduce<Pairs>((acc, mutate) => mutate(acc), Object.entries(lead));
  return toJson(new RawObject(pairs.map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawObject) ? new RawObject(Object.entries(v)) : v])));
});

const deepBody = fc
  .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('[', '{"a":', '{"custom":{"k":', '{"email":"a@example.com","tags":['))
  .map(([depth, open]) => {
    const close = open === '[' ? ']' : open === '{"a":' ? '}' : open.startsWith('{"custom"') ? '}}' : ']}';
    return open.repeat(depth) + '1' + close.repeat(depth);
  });

const body = fc.oneof(
  { weight: 4, arbitrary: mutatedLead },
  { weight: 2, arbitrary: jsonish.map(toJson) },
  { weight: 1, arbitrary: deepBody },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '{}', '{"email":NaN}', '{"email":"a@example.com"}{"x":1}', '\ufeff{}') },
);

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/json, text/plain',
      'application/vnd.api+json',
      'application/problem+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '*/*',
      ';',
      '',
    ),
    fc.string({ maxLength: 40 }),
  ),
  { nil: undefined },
);

// Header values as HTTP can carry them: visible ASCII and spaces (a raw CR/LF never gets
// past Node's parser); their meaning is what is being fuzzed.
const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('', ' ', 'é'.normalize('NFD')).map((s) => s.replace(/[^\x20-\x7e]/g, '?')));
const headers = fc
  .record(
    {
      'content-type': contentType,
      'idempotency-key': headerValue,
      'x-request-id': headerValue,
      authorization: fc.oneof(headerValue, fc.constant(`Bearer ${KEY}`), headerValue.map((v) => `Bearer ${v}`)),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml'),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
    },
    { requiredKeys: [] },
  )
  .map((record) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Record<string, string>);

const leadIdSegment = fc.oneof(
  fc.constant(() => leadId),
  fc.constant(() => UNKNOWN_LEAD),
  fc.stringMatching(/^[a-z2-7]{20}$/).map((id) => () => id),
  fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), nastyChar), maxLength: 30 }).map((s) => () => pct(s)),
  fc.constantFrom('%E0%A4%A', '%00', '..', '%2e%2e', 'a%2Fb', 'x'.repeat(150)).map((s) => () => s),
);
const queryValue = fc.oneof(
  anyString,
  emailish,
  fc.constantFrom(...LEAD_STAGES, 'NaN', 'Infinity', '-1', '0', '101', '1e400', '1.5', ''),
  jsonish.map((v) => Buffer.from(toJson(v)).toString('base64url')),
);
const query = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom('limit', 'stage', 'email', 'cursor', '__proto__', 'constructor'), fc.string({ maxLength: 10 })), queryValue), { maxLength: 5 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&')}`));

const path = fc.oneof(
  { weight: 3, arbitrary: fc.constant(() => '/api/leads') },
  { weight: 3, arbitrary: leadIdSegment.map((id) => () => `/api/leads/${id()}`) },
  { weight: 2, arbitrary: leadIdSegment.map((id) => () => `/api/leads/${id()}/history`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(leadIdSegment, fc.oneof(fc.stringMatching(/^[a-z2-7]{12}$/), fc.string({ maxLength: 20 }).map(pct)))
      .map(([id, suffix]) => () => (suffix === 'task' ? `/api/tasks/${taskId}` : `/api/tasks/${id()}.${suffix}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('/health', '/ready', '/openapi.json', '/API/leads', '/%61pi/leads', '//api/leads', '/api/leads/').map((p) => () => p) },
  { weight: 1, arbitrary: fc.webPath().map((p) => () => p || '/') },
);

const request = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('POST', 'PUT', 'PATCH', 'GET') }, { weight: 1, arbitrary: fc.constantFrom('DELETE', 'HEAD', 'OPTIONS') }),
  path,
  query,
  headers,
  body: fc.option(body, { nil: undefined, freq: 5 }),
});

// ---------------------------------------------------------------- the property

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

function describeSent(sent: Sent): string {
  const shown = sent.body === undefined ? '' : String(sent.body).slice(0, 300);
  return `${sent.method} ${sent.url.slice(0, 300)} ${JSON.stringify(sent.headers).slice(0, 300)} ${shown}`;
}

/** Answers seen, by status and error code: FUZZ_STATS=1 prints them, to see what the generators reach. */
const seen = new Map<string, number>();

/** Below 500, and an error in the contract's shape: the only acceptable answers. */
function check(sent: Sent, res: LightMyRequestResponse): void {
  const code = res.statusCode >= 400 && sent.method !== 'HEAD' ? (/"code":"([a-z_]+)"/.exec(res.body)?.[1] ?? '?') : '';
  const label = `${sent.method} ${res.statusCode} ${code}`.trim();
  seen.set(label, (seen.get(label) ?? 0) + 1);
  const context = `${res.statusCode} for ${describeSent(sent)}\n-> ${res.body.slice(0, 300)}`;
  expect(res.statusCode, context).toBeLessThan(500);
  if (res.statusCode >= 400 && sent.method !== 'HEAD') {
    const parsed = JSON.parse(res.body) as { error?: { code?: unknown; issues?: unknown; request_id?: unknown } };
    expect(typeof parsed.error?.code, context).toBe('string');
    expect(Array.isArray(parsed.error?.issues), context).toBe(true);
    expect(parsed.error?.request_id, context).toBe(res.headers['x-request-id']);
  }
}

async function send(app: FastifyInstance, sent: Sent): Promise<void> {
  const options: InjectOptions = {
    method: sent.method as InjectOptions['method'],
    url: sent.url,
    headers: sent.headers,
    ...(sent.body === undefined ? {} : { payload: sent.body }),
  };
  check(sent, await app.inject(options));
}

// Sized for well under a minute on two busy cores: each run is one request, and valid
// writes cost a round trip to Temporal.
const RUNS = Number(process.env.FUZZ_RUNS ?? 700);

describe('fuzzing every route', () => {
  it('no generated request gets a 5xx, and every error is in the contract shape', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        await send(h.app, { method: r.method, url: r.path() + r.query, headers: r.headers, body: r.body });
      }),
      { numRuns: RUNS },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('valid leads with up to two mutations: 202, or a 4xx naming what is wrong', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedLead, fc.constantFrom('POST', 'PUT', 'PATCH'), async (payload, method) => {
        const url = method === 'POST' ? '/api/leads' : `/api/leads/${leadId}`;
        const sent: Sent = { method, url, headers: { 'content-type': 'application/json' }, body: payload };
        const res = await h.app.inject({ method, url, headers: sent.headers, payload });
        check(sent, res);
        expect([202, 400, 404, 413, 422], describeSent(sent)).toContain(res.statusCode);
        if (res.statusCode === 400 && res.json().error.code === 'invalid_request') {
          expect(res.json().error.issues.length, describeSent(sent)).toBeGreaterThan(0);
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('with API keys and a rate limit: 401/429 or a normal answer, never a 5xx', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        await send(keyed, { method: r.method, url: r.path() + r.query, headers: r.headers, body: r.body });
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});
