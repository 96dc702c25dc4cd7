import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { addressMatcher } from '../address-list.js';

/**
 * A server span per HTTP request (method, route, path, status), continuing the caller's
 * trace when it sends `traceparent` from a trusted peer (`trustedParents`: addresses/CIDRs of
 * the proxy or gateway in front). Anyone else starts a new trace: a client must not be able
 * to attach its requests to someone else's trace, or choose sampling for it. The span is the active context while the handler runs,
 * so the Temporal client's interceptor puts it in the headers of the workflow calls.
 * Loaded only when tracing is on (buildApp imports it dynamically).
 */
export function registerRequestTracing(app: FastifyInstance, tracer: Tracer, trustedParents: readonly string[]): void {
  const open = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();
  const trusted = addressMatcher(trustedParents);

  app.addHook('onRequest', (request, _reply, done) => {
    // The socket's peer, not request.ip: X-Forwarded-For names whoever the client claims to be.
    const parent = trusted(request.socket.remoteAddress) ? propagation.extract(ROOT_CONTEXT, request.headers) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          // The path only: query values may be personal data (see log-redaction.ts).
          [ATTR_URL_PATH]: request.url.split('?')[0] ?? request.url,
          [ATTR_URL_SCHEME]: request.protocol,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    open.set(request, { span, ctx });
    context.with(ctx, done);
  });

  // Body parsing runs in the socket's context, not the request's: enter the span's context
  // again right before the handler.
  app.addHook('preHandler', (request, _reply, done) => {
    const entry = open.get(request);
    if (entry) context.with(entry.ctx, done);
    else done();
  });

  const finish = (request: FastifyRequest, status: number | undefined) => {
    const entry = open.get(request);
    if (!entry) return;
    open.delete(request);
    const route = request.routeOptions.url;
    if (route) {
      entry.span.setAttribute(ATTR_HTTP_ROUTE, route);
      entry.span.updateName(`${request.method} ${route}`);
    }
    if (status === undefined) {
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the request' });
    } else {
      entry.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    entry.span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    finish(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    finish(request, undefined);
    done();
  });
}
