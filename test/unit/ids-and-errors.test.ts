import { NamespaceNotFoundError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseRetryAfter } from '../../src/activities/failures.js';
import { HttpError, mapError } from '../../src/api/errors.js';
import { IdempotencyConflictError, LeadNotFoundError, TaskNotFoundError } from '../../src/leads/errors.js';
import { TemporalUnavailableError } from '../../src/temporal/calls.js';
import { IdempotencyHeaders, LeadIdParams, ListQuery } from '../../src/api/schemas.js';
import {
  LEAD_ID_PATTERN,
  TASK_ID_PATTERN,
  base32,
  hashBody,
  idempotencyRecordId,
  issuedTaskOp,
  leadIdForEmail,
  leadIdOfTask,
  leadWorkflowId,
  newTaskId,
  stableStringify,
} from '../../src/domain/ids.js';
import { LeadInput } from '../../src/domain/lead.js';

describe('leadIdForEmail', () => {
  it('is 20 characters of lower-case base32 (a-z, 2-7)', () => {
    const id = leadIdForEmail('ada@example.com');
    expect(id).toMatch(LEAD_ID_PATTERN);
    expect(id).toMatch(/^[a-z2-7]{20}$/);
  });

  it('is deterministic: one email, one id, across calls', () => {
    expect(leadIdForEmail('ada@example.com')).toBe(leadIdForEmail('ada@example.com'));
  });

  it('differs between emails, even ones that differ by one character', () => {
    const ids = new Set(['ada@example.com', 'ada@example.org', 'adb@example.com', 'ada@example.co', ''].map(leadIdForEmail));
    expect(ids.size).toBe(5);
  });

  it('expects an already-normalized email: case and spaces matter to the id', () => {
    expect(leadIdForEmail('Ada@Example.com')).not.toBe(leadIdForEmail('ada@example.com'));
    expect(leadIdForEmail(LeadInput.parse({ email: ' Ada@Example.com ' }).email)).toBe(leadIdForEmail('ada@example.com'));
  });

  it('gives well-formed ids for many inputs', () => {
    for (let i = 0; i < 500; i++) expect(leadIdForEmail(`lead${i}@example.com`)).toMatch(LEAD_ID_PATTERN);
  });

  it('names the lead workflow after the id', () => {
    expect(leadWorkflowId('abcdefghijklmnopqrst')).toBe('lead-abcdefghijklmnopqrst');
  });
});

describe('task ids', () => {
  const leadId = leadIdForEmail('ada@example.com');

  it('newTaskId without a key is <lead id>.<12 base32 characters> and fresh on every call', () => {
    const ids = Array.from({ length: 200 }, () => newTaskId(leadId, 'patch'));
    for (const id of ids) {
      expect(id).toMatch(TASK_ID_PATTERN);
      expect(id.startsWith(`${leadId}.`)).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('newTaskId with an Idempotency-Key is stable for that lead and key', () => {
    const a = newTaskId(leadId, 'replace', 'key-1');
    expect(a).toMatch(TASK_ID_PATTERN);
    expect(newTaskId(leadId, 'replace', 'key-1')).toBe(a);
    expect(newTaskId(leadId, 'replace', 'key-2')).not.toBe(a);
    // The same key for another kind of change is another task (it must not be deduplicated away).
    expect(newTaskId(leadId, 'patch', 'key-1')).not.toBe(a);
    const other = leadIdForEmail('bob@example.com');
    expect(newTaskId(other, 'replace', 'key-1')).not.toBe(`${other}.${a.split('.')[1]}`);
  });

  it('an empty key counts as no key (fresh id)', () => {
    expect(newTaskId(leadId, 'create', '')).not.toBe(newTaskId(leadId, 'create', ''));
  });

  it('leadIdOfTask recovers the lead id', () => {
    expect(leadIdOfTask(newTaskId(leadId, 'create'))).toBe(leadId);
    expect(leadIdOfTask(newTaskId(leadId, 'patch', 'k'))).toBe(leadId);
  });

  it('issuedTaskOp recognises the ids the API issues, with their kind of change, and nothing else', () => {
    for (const op of ['create', 'replace', 'patch'] as const) {
      expect(issuedTaskOp(newTaskId(leadId, op))).toBe(op);
      expect(issuedTaskOp(newTaskId(leadId, op, 'key'))).toBe(op);
    }
    const issued = newTaskId(leadId, 'replace');
    // Another lead's prefix, a changed character, a made-up or old-style id: not ours.
    expect(issuedTaskOp(issued.replace(leadId, leadIdForEmail('bob@example.com')))).toBeUndefined();
    const last = issued.at(-1) === 'a' ? 'b' : 'a';
    expect(issuedTaskOp(issued.slice(0, -1) + last)).toBeUndefined();
    expect(issuedTaskOp(`${leadId}.abcdefghijkl`)).toBeUndefined();
    expect(issuedTaskOp('nope')).toBeUndefined();
    // Made-up ids pass the check about once in 2^25 / 3 tries.
    const fakes = Array.from({ length: 2000 }, (_, i) => `${leadId}.${base32(Buffer.from(String(i).padStart(8, '0')), 12)}`);
    expect(fakes.filter((id) => issuedTaskOp(id) !== undefined)).toEqual([]);
  });

  it.each([
    '',
    'nope',
    'abcdefghijklmnopqrst',
    'abcdefghijklmnopqrst.',
    'abcdefghijklmnopqrst.abcdefghijk',
    'abcdefghijklmnopqrst.abcdefghijklm',
    'ABCDEFGHIJKLMNOPQRST.abcdefghijkl',
    'abcdefghijklmnopqrs1.abcdefghijkl',
    ' abcdefghijklmnopqrst.abcdefghijkl',
    'abcdefghijklmnopqrst.abcdefghijkl\n',
    'abcdefghijklmnopqrst_abcdefghijkl',
  ])('leadIdOfTask refuses a malformed task id %j', (taskId) => {
    expect(leadIdOfTask(taskId)).toBeUndefined();
  });

  it('idempotency record ids are stable, distinct per key and workflow-id safe', () => {
    const a = idempotencyRecordId('POST /api/leads\nkey-1');
    expect(a).toMatch(/^idem-[a-z2-7]{26}$/);
    expect(idempotencyRecordId('POST /api/leads\nkey-1')).toBe(a);
    expect(idempotencyRecordId('POST /api/leads\nkey-2')).not.toBe(a);
  });
});

describe('stableStringify and hashBody', () => {
  it('ignores object key order, at every depth', () => {
    const a = { email: 'a@b.com', custom: { x: 1, y: [1, { q: 1, p: 2 }] }, tags: ['b', 'a'] };
    const b = { tags: ['b', 'a'], custom: { y: [1, { p: 2, q: 1 }], x: 1 }, email: 'a@b.com' };
    expect(stableStringify(a)).toBe(stableStringify(b));
    expect(hashBody(a)).toBe(hashBody(b));
  });

  it('is valid JSON with sorted keys', () => {
    const text = stableStringify({ b: 1, a: { d: [true, null, 'x'], c: 'é"\n' } });
    expect(text).toBe('{"a":{"c":"é\\"\\n","d":[true,null,"x"]},"b":1}');
    expect(JSON.parse(text)).toEqual({ a: { c: 'é"\n', d: [true, null, 'x'] }, b: 1 });
  });

  it('keeps array order significant', () => {
    expect(stableStringify(['a', 'b'])).not.toBe(stableStringify(['b', 'a']));
    expect(hashBody({ tags: ['a', 'b'] })).not.toBe(hashBody({ tags: ['b', 'a'] }));
  });

  it('drops undefined properties, as JSON does', () => {
    expect(stableStringify({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(hashBody({ a: 1, b: undefined })).toBe(hashBody({ a: 1 }));
  });

  it('distinguishes values of different types and null from absent', () => {
    expect(hashBody({ a: 1 })).not.toBe(hashBody({ a: '1' }));
    expect(hashBody({ a: null })).not.toBe(hashBody({}));
    expect(hashBody({ a: true })).not.toBe(hashBody({ a: 'true' }));
  });

  it('hashBody is a hex SHA-256', () => {
    expect(hashBody({ email: 'a@b.com' })).toMatch(/^[0-9a-f]{64}$/);
    expect(hashBody({ email: 'a@b.com' })).not.toBe(hashBody({ email: 'a@b.co' }));
  });

  it('handles scalars', () => {
    expect(stableStringify('x')).toBe('"x"');
    expect(stableStringify(1)).toBe('1');
    expect(stableStringify(null)).toBe('null');
    expect(stableStringify([])).toBe('[]');
    expect(stableStringify({})).toBe('{}');
  });
});

describe('mapError: named errors', () => {
  it('LeadNotFoundError -> 404 lead_not_found', () => {
    expect(mapError(new LeadNotFoundError('abcdefghijklmnopqrst'))).toEqual({
      status: 404,
      headers: {},
      body: { error: { code: 'lead_not_found', message: 'no lead with id abcdefghijklmnopqrst', issues: [] } },
    });
  });

  it('TaskNotFoundError -> 404 task_not_found', () => {
    const mapped = mapError(new TaskNotFoundError('abcdefghijklmnopqrst.abcdefghijkl'));
    expect(mapped.status).toBe(404);
    expect(mapped.body.error).toMatchObject({ code: 'task_not_found', issues: [] });
    expect(mapped.body.error.message).toContain('abcdefghijklmnopqrst.abcdefghijkl');
  });

  it('IdempotencyConflictError -> 422 idempotency_key_reused with an issue on the header', () => {
    const mapped = mapError(new IdempotencyConflictError());
    expect(mapped.status).toBe(422);
    expect(mapped.body.error.code).toBe('idempotency_key_reused');
    expect(mapped.body.error.issues).toEqual([
      { path: 'headers.idempotency-key', code: 'reused', message: expect.any(String) },
    ]);
  });

  it('TemporalUnavailableError -> 503 temporal_unavailable with retry-after', () => {
    expect(mapError(new TemporalUnavailableError('down'))).toMatchObject({
      status: 503,
      headers: { 'retry-after': '2' },
      body: { error: { code: 'temporal_unavailable', issues: [] } },
    });
    expect(mapError(new TemporalUnavailableError('down', 7)).headers).toEqual({ 'retry-after': '7' });
  });

  it('a custom HttpError keeps its status, code, issues and headers', () => {
    const issue = { path: 'x', code: 'y', message: 'z' };
    expect(mapError(new HttpError(401, 'unauthorized', 'no', [issue], { 'www-authenticate': 'Bearer' }))).toEqual({
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
      body: { error: { code: 'unauthorized', message: 'no', issues: [issue] } },
    });
  });

  it('the named errors have their class names (for logs)', () => {
    expect(new LeadNotFoundError('x').name).toBe('LeadNotFoundError');
    expect(new TaskNotFoundError('x').name).toBe('TaskNotFoundError');
    expect(new IdempotencyConflictError().name).toBe('IdempotencyConflictError');
    expect(new TemporalUnavailableError('x').name).toBe('TemporalUnavailableError');
    // Domain errors: the lead service knows nothing of HTTP; mapError gives their answers.
    expect(new LeadNotFoundError('x')).not.toBeInstanceOf(HttpError);
  });
});

describe('mapError: Temporal errors', () => {
  it('WorkflowNotFoundError -> 404 not_found', () => {
    const mapped = mapError(new WorkflowNotFoundError('workflow not found', 'lead-x', undefined));
    expect(mapped.status).toBe(404);
    expect(mapped.body.error).toMatchObject({ code: 'not_found', issues: [] });
  });

  it('ServiceError -> 503 temporal_unavailable with retry-after, first line of the message only', () => {
    const mapped = mapError(new ServiceError('Failed to start Workflow\nstack-ish detail'));
    expect(mapped.status).toBe(503);
    expect(mapped.headers['retry-after']).toBe('2');
    expect(mapped.body.error.code).toBe('temporal_unavailable');
    expect(mapped.body.error.message).not.toContain('stack-ish detail');
  });

  it("an unknown namespace (a server that has not created it yet, or a wrong TEMPORAL_NAMESPACE) -> 503, not 500", () => {
    const mapped = mapError(new NamespaceNotFoundError('leads'));
    expect(mapped.status).toBe(503);
    expect(mapped.headers['retry-after']).toBe('2');
    expect(mapped.body.error.code).toBe('temporal_unavailable');
  });

  it('a raw gRPC error (details + metadata) -> 503', () => {
    const grpc = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14, details: 'x', metadata: {} });
    const mapped = mapError(grpc);
    expect(mapped.status).toBe(503);
    expect(mapped.body.error.code).toBe('temporal_unavailable');
  });
});

describe('mapError: Fastify errors', () => {
  const fastifyError = (statusCode: number, code: string, message = 'fastify says no') =>
    Object.assign(new Error(message), { statusCode, code });

  it.each([
    [400, 'FST_ERR_CTP_INVALID_JSON_BODY', 'invalid_json'],
    [400, 'FST_ERR_CTP_EMPTY_JSON_BODY', 'empty_body'],
    [400, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'invalid_content_length'],
    [413, 'FST_ERR_CTP_BODY_TOO_LARGE', 'body_too_large'],
    [415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'unsupported_media_type'],
    [400, 'FST_ERR_SOMETHING_NEW', 'invalid_json'],
    [404, 'FST_ERR_NOT_FOUND', 'not_found'],
    [413, 'X', 'body_too_large'],
    [415, 'X', 'unsupported_media_type'],
    [409, 'X', 'bad_request'],
  ])('%i %s -> %s', (status, code, expected) => {
    const mapped = mapError(fastifyError(status, code));
    expect(mapped).toEqual({
      status,
      headers: {},
      body: { error: { code: expected, message: 'fastify says no', issues: [] } },
    });
  });

  it('a Fastify-style 5xx is a generic 500', () => {
    const mapped = mapError(fastifyError(500, 'FST_ERR_SOMETHING', 'secret internals'));
    expect(mapped.status).toBe(500);
    expect(JSON.stringify(mapped)).not.toContain('secret internals');
  });
});

describe('mapError: request validation errors', () => {
  function validationError(schema: z.ZodType, data: unknown, where: string): Error {
    const validate = validatorCompiler({ schema, method: 'POST', url: '/x', httpPart: where });
    const result = validate(data) as { error?: unknown };
    expect(result.error).toBeDefined();
    return Object.assign(new Error('validation failed'), { validation: result.error, validationContext: where });
  }

  it('lists every body issue with path, code and message', () => {
    const mapped = mapError(validationError(LeadInput, { email: 'nope', phone: 'abc', stage: 'won' }, 'body'));
    expect(mapped.status).toBe(400);
    expect(mapped.body.error.code).toBe('invalid_request');
    expect(mapped.body.error.message).toBe('the request body is invalid (3 problems)');
    expect(mapped.body.error.issues).toEqual([
      { path: 'email', code: 'invalid_format', message: 'must be a valid email address' },
      { path: 'phone', code: 'custom', message: expect.stringContaining('digits') },
      { path: 'stage', code: 'invalid_value', message: expect.any(String) },
    ]);
  });

  it('turns unrecognized keys into one unknown_field issue per key', () => {
    const mapped = mapError(validationError(LeadInput, { email: 'a@b.com', fax: 1, pager: 2 }, 'body'));
    expect(mapped.body.error.message).toBe('the request body is invalid (2 problems)');
    expect(mapped.body.error.issues).toEqual([
      { path: 'fax', code: 'unknown_field', message: expect.any(String) },
      { path: 'pager', code: 'unknown_field', message: expect.any(String) },
    ]);
  });

  it('joins nested paths with dots', () => {
    const mapped = mapError(validationError(LeadInput, { email: 'a@b.com', tags: ['ok', ''], custom: { a: {} } }, 'body'));
    expect(mapped.body.error.issues.map((i) => i.path)).toEqual(['tags.1', 'custom.a']);
  });

  it('names the whole body "(body)" when it is not an object', () => {
    const mapped = mapError(validationError(LeadInput, null, 'body'));
    expect(mapped.body.error.issues).toEqual([{ path: '(body)', code: 'invalid_type', message: expect.any(String) }]);
    expect(mapped.body.error.message).toBe('the request body is invalid (1 problem)');
  });

  it('prefixes params, query and headers paths', () => {
    expect(mapError(validationError(LeadIdParams, { id: 'X' }, 'params')).body.error.issues[0]?.path).toBe('params.id');
    expect(mapError(validationError(ListQuery, { limit: '0' }, 'querystring')).body.error.issues[0]?.path).toBe('query.limit');
    expect(mapError(validationError(ListQuery, { nope: '1' }, 'querystring')).body.error.issues[0]).toMatchObject({
      path: 'query.nope',
      code: 'unknown_field',
    });
    expect(
      mapError(validationError(IdempotencyHeaders, { 'idempotency-key': 'é' }, 'headers')).body.error.issues[0]?.path,
    ).toBe('headers.idempotency-key');
  });
});

describe('mapError: anything else is a 500 that leaks nothing', () => {
  it('an unknown Error -> 500 internal_error with a generic message', () => {
    const mapped = mapError(new Error('password=hunter2 at db.internal:5432'));
    expect(mapped).toEqual({
      status: 500,
      headers: {},
      body: { error: { code: 'internal_error', message: 'internal error; the request id is in the logs', issues: [] } },
    });
  });

  it('a TypeError with a stack -> the same generic 500', () => {
    let err: unknown;
    try {
      void (undefined as unknown as { x: number }).x;
    } catch (e) {
      err = e;
    }
    const mapped = mapError(err);
    expect(mapped.status).toBe(500);
    expect(mapped.body.error.message).not.toContain('undefined');
  });

  it('an Error with a 5xx statusCode property is still a generic 500', () => {
    const mapped = mapError(Object.assign(new Error('upstream said: secret'), { statusCode: 502 }));
    expect(mapped.status).toBe(500);
    expect(mapped.body.error.message).not.toContain('secret');
  });

  it.each([['a string', 'boom'], ['a number', 42], ['an object', { message: 'secret' }]])(
    'a thrown non-Error (%s) -> generic 500',
    (_label, thrown) => {
      const mapped = mapError(thrown);
      expect(mapped.status).toBe(500);
      expect(mapped.body.error.code).toBe('internal_error');
      expect(JSON.stringify(mapped)).not.toContain('secret');
    },
  );

  // `throw null` / `throw undefined` (or a rejected promise with no reason) reaches the
  // Fastify error handler as-is. mapError must still answer; it must not throw itself.
  it.each([['null', null], ['undefined', undefined]])('a thrown %s -> generic 500 (mapError must not throw)', (_label, thrown) => {
    expect(() => mapError(thrown)).not.toThrow();
    expect(mapError(thrown)).toEqual({
      status: 500,
      headers: {},
      body: { error: { code: 'internal_error', message: 'internal error; the request id is in the logs', issues: [] } },
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter('120', now)).toBe(120_000);
  });

  it('reads an HTTP-date relative to now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
  });

  it('treats a date in the past as no hint', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBeUndefined();
  });

  it.each([null, ''])('returns undefined without a header (%j)', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it.each(['soon', 'abc', '12 seconds', 'Infinity', '-Infinity', 'NaN', '1,5'])('returns undefined for garbage %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it.each(['-1', '-120'])('returns undefined for a negative delay %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('caps long delays (default 5 minutes, or the given cap)', () => {
    expect(parseRetryAfter('86400', now)).toBe(300_000);
    expect(parseRetryAfter('300', now)).toBe(300_000);
    expect(parseRetryAfter('60', now, 10_000)).toBe(10_000);
    expect(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', now)).toBe(300_000);
  });

  // RFC 9110: Retry-After = HTTP-date / delay-seconds, delay-seconds = 1*DIGIT.
  // Number(' ') is 0, so a blank header currently means "retry immediately".
  it('a blank header is no hint, not "retry now"', () => {
    expect(parseRetryAfter(' ', now)).toBeUndefined();
    expect(parseRetryAfter('\t', now)).toBeUndefined();
  });

  it('only decimal digits count as delay-seconds (no hex, no exponent)', () => {
    expect(parseRetryAfter('0x10', now)).toBeUndefined();
    expect(parseRetryAfter('1e2', now)).toBeUndefined();
  });
});
