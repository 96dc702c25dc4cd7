import { propagation, trace, type Context, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerRequestTracing } from '../../src/api/request-tracing.js';

// Issue #25 point 6: an incoming traceparent is continued only from a trusted peer (the
// proxy in front); from anyone else the request starts a trace of its own.

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${CALLER_TRACE}-00f067aa0ba902b7-01`;

/** Records the trace each server span was started under (undefined = a new trace). */
function recordingTracer(parents: Array<string | undefined>): Tracer {
  const startSpan = (_name: string, _options?: SpanOptions, ctx?: Context) => {
    parents.push(ctx === undefined ? undefined : trace.getSpanContext(ctx)?.traceId);
    return trace.wrapSpanContext({ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceFlags: 1 });
  };
  return { startSpan } as unknown as Tracer;
}

let app: FastifyInstance;
const parents: Array<string | undefined> = [];

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  app = Fastify();
  registerRequestTracing(app, recordingTracer(parents), ['127.0.0.0/8', '::1', '10.1.0.0/16']);
  app.get('/ping', async () => ({ ok: true }));
  await app.ready();
});
afterEach(() => {
  parents.length = 0;
});
afterAll(async () => {
  await app.close();
  propagation.disable();
});

const ping = (remoteAddress: string, headers: Record<string, string> = { traceparent: TRACEPARENT }) =>
  app.inject({ method: 'GET', url: '/ping', remoteAddress, headers });

describe('traceparent from trusted peers only', () => {
  it('continues the caller\'s trace from loopback and from a listed range', async () => {
    expect((await ping('127.0.0.1')).statusCode).toBe(200);
    await ping('::ffff:10.1.2.3');
    await ping('::1');
    expect(parents).toEqual([CALLER_TRACE, CALLER_TRACE, CALLER_TRACE]);
  });

  it('starts a new trace for any other peer, whatever X-Forwarded-For claims', async () => {
    await ping('203.0.113.9');
    await ping('10.2.0.1', { traceparent: TRACEPARENT, 'x-forwarded-for': '127.0.0.1' });
    expect(parents).toEqual([undefined, undefined]);
  });
});
