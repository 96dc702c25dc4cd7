import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isGrpcServiceError, NamespaceNotFoundError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { AutomationServiceError, type AutomationRefusal } from '../automations/errors.js';
import { LeadServiceError, type LeadRefusal } from '../leads/errors.js';
import { TemporalUnavailableError } from '../temporal/calls.js';
import { InvalidCursorError } from '../temporal/visibility.js';

// The HTTP layer's own named errors, and the one place that turns any error (these, the lead
// and automation services' and the Temporal layer's) into the HTTP contract's shape:
// {"error": {"code", "message", "issues": [{path, code, message}]}}.

export interface Issue {
  path: string;
  code: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly headers: Record<string, string> = {},
    /** Fields added to the error object for clients to act on (email_taken's `lead_id`). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** No route for this method and path (a wrong path, or an unknown one behind the API key check). */
export class RouteNotFoundError extends HttpError {
  override name = 'RouteNotFoundError';
  constructor(method: string, path: string) {
    super(404, 'not_found', `no route ${method} ${path}`);
  }
}

/** A path the API serves, asked with a method it does not serve there. */
export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(method: string, path: string, allowed: string[]) {
    super(405, 'method_not_allowed', `${method} is not served at ${path}; use ${allowed.join(', ')}`, [], { allow: allowed.join(', ') });
  }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor() {
    super(401, 'unauthorized', 'a valid API key is required: Authorization: Bearer <key>', [], { 'www-authenticate': 'Bearer' });
  }
}

/** A valid key without the scope the route needs (access-control.ts). */
export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(scope: string, keyId: string) {
    super(403, 'missing_scope', `this route needs the ${scope} scope, which the API key ${keyId} does not have`, [
      { path: 'headers.authorization', code: 'missing_scope', message: `needs ${scope}` },
    ]);
  }
}

/** Load shedding (event-loop delay, memory): nothing was done; the client may retry later. */
export class OverloadedError extends HttpError {
  override name = 'OverloadedError';
  constructor(retryAfterSeconds: number) {
    super(503, 'overloaded', 'the API is overloaded and did not process this request; retry later', [], {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** The process is shutting down: the request was not processed; another process (or this one restarted) will take it. */
export class ShuttingDownError extends HttpError {
  override name = 'ShuttingDownError';
  constructor() {
    super(503, 'shutting_down', 'this API process is shutting down and did not process this request; retry', [], {
      'retry-after': '1',
    });
  }
}

/**
 * This API process holds as many live task streams as it may (SSE_MAX_STREAMS): nothing was
 * opened; a retry may land on another process, or on this one once a stream has ended.
 */
export class StreamLimitError extends HttpError {
  override name = 'StreamLimitError';
  constructor(limit: number, retryAfterSeconds: number) {
    super(503, 'too_many_streams', `this API process already serves ${limit} live task streams; retry later`, [], {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

export class RateLimitedError extends HttpError {
  override name = 'RateLimitedError';
  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limited', `too many requests for this API key or client; retry in ${retryAfterSeconds} s`, [], {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** POST /webhooks/email-events without EMAIL_EVENTS_SECRET: the intake is off (503, so a provider keeps retrying until it is configured). */
export class EmailEventsOffError extends HttpError {
  override name = 'EmailEventsOffError';
  constructor() {
    super(503, 'email_events_off', 'the email event intake is off: EMAIL_EVENTS_SECRET is not set');
  }
}

/** An email event whose signature is wrong, too old or too new, or seen before. */
export class EmailEventRefusedError extends HttpError {
  override name = 'EmailEventRefusedError';
  constructor(verdict: 'invalid_signature' | 'stale' | 'replayed') {
    const answers: Record<typeof verdict, [string, string]> = {
      invalid_signature: ['invalid_signature', 'the event signature does not match (HMAC-SHA256 of timestamp + token under the signing key)'],
      stale: ['stale_event', 'the event timestamp is more than 5 minutes from now'],
      replayed: ['replayed_event', 'this event token was seen before'],
    };
    const [code, message] = answers[verdict];
    super(403, code, message, [{ path: 'signature', code, message }]);
  }
}

/** A CRM's webhook to an intake without its key: off (503, so the CRM keeps retrying until it is configured). */
export class CrmWebhookOffError extends HttpError {
  override name = 'CrmWebhookOffError';
  constructor(variable: string) {
    super(503, 'crm_webhook_off', `this CRM webhook intake is off: ${variable} is not set`);
  }
}

/** A CRM's webhook whose signature does not verify, or is too old. */
export class CrmWebhookRefusedError extends HttpError {
  override name = 'CrmWebhookRefusedError';
  constructor(reason: string) {
    super(401, 'invalid_signature', `the webhook's signature does not verify: ${reason}`, [{ path: 'signature', code: 'invalid_signature', message: reason }]);
  }
}

/** A verified CRM webhook whose body is not what the CRM sends. */
export class CrmWebhookBodyError extends HttpError {
  override name = 'CrmWebhookBodyError';
  constructor(reason: string) {
    super(400, 'invalid_webhook_body', `the webhook's body is not a change notice: ${reason}`, [{ path: 'body', code: 'invalid_webhook_body', message: reason }]);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; issues: Issue[]; request_id?: string; lead_id?: string };
}

export interface MappedError {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

/** At most this many issues are listed: a body of 10,000 bad array items must not get a 10,000-item answer. */
export const MAX_ISSUES = 50;

/** Every error, from any layer, becomes exactly one HTTP answer here. 5xx details stay hidden. */
export function mapError(err: unknown): MappedError {
  const mapped = mapAny(err);
  const issues = mapped.body.error.issues;
  if (issues.length > MAX_ISSUES) mapped.body.error.issues = issues.slice(0, MAX_ISSUES);
  return mapped;
}

function mapAny(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      headers: err.headers,
      body: { error: { code: err.code, message: err.message, issues: err.issues, ...err.extra } },
    };
  }
  if (err instanceof LeadServiceError || err instanceof AutomationServiceError || err instanceof TemporalUnavailableError || err instanceof InvalidCursorError) {
    return mapAny(httpErrorOf(err as NamedError));
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = (err as FastifyError).validationContext ?? 'body';
    const issues = err.validation.flatMap((v): Issue[] => {
      const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const keys = (v.params as { keys?: string[] }).keys;
      if (v.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
        return keys.map((key) => ({
          path: qualify(where, path ? `${path}.${key}` : key),
          code: 'unknown_field',
          message: 'unknown field (not part of the lead schema)',
        }));
      }
      return [{ path: qualify(where, path), code: v.keyword, message: v.message ?? 'invalid' }];
    });
    return badRequest('invalid_request', `the request ${where} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues);
  }
  if (err instanceof WorkflowNotFoundError) {
    return { status: 404, headers: {}, body: { error: { code: 'not_found', message: err.message, issues: [] } } };
  }
  // The namespace is missing (a dev server still creating it, or TEMPORAL_NAMESPACE names none):
  // the service cannot take requests, as when Temporal is down; the detail goes to the logs.
  if (err instanceof NamespaceNotFoundError) return mapAny(new TemporalUnavailableError(err.message));
  if (err instanceof ServiceError || isGrpcServiceError(err)) {
    return mapAny(new TemporalUnavailableError((err as Error).message.split('\n')[0] ?? 'unavailable'));
  }
  const fastifyError = (err ?? {}) as Partial<FastifyError>;
  // Fastify's handlerTimeout: the backstop behind the Temporal deadlines fired.
  if (fastifyError.code === 'FST_ERR_HANDLER_TIMEOUT') {
    return {
      status: 503,
      headers: { 'retry-after': '2' },
      body: { error: { code: 'timeout', message: 'the request was not answered in time; retry later', issues: [] } },
    };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      headers: {},
      body: { error: { code: fastifyCode(fastifyError.code, status), message: fastifyError.message ?? 'bad request', issues: [] } },
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: { code: 'internal_error', message: 'internal error; the request id is in the logs', issues: [] } },
  };
}

type NamedError = LeadRefusal | AutomationRefusal | TemporalUnavailableError | InvalidCursorError;

/** The HTTP answer to each error the lead and automation services and the Temporal layer name. */
function httpErrorOf(err: NamedError): HttpError {
  switch (err.name) {
    case 'LeadNotFoundError':
      return new HttpError(404, 'lead_not_found', `no lead with id ${err.leadId}`);
    case 'TaskNotFoundError':
      return new HttpError(404, 'task_not_found', `no task with id ${err.taskId}`);
    case 'EmailTakenError':
      return new HttpError(
        409,
        'email_taken',
        `another lead (${err.holder}) has this email; change that lead, or erase it first`,
        [{ path: 'body.email', code: 'email_taken', message: `held by lead ${err.holder}` }],
        {},
        { lead_id: err.holder },
      );
    case 'LeadErasedError':
      // A 404 like any unknown lead (clients and fuzzers treat 410 as a refused request), told apart by its code.
      return new HttpError(404, 'lead_erased', `lead ${err.leadId} was erased`);
    case 'IdempotencyConflictError':
      return new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request body', [
        { path: 'headers.idempotency-key', code: 'reused', message: 'key already used with another body' },
      ]);
    case 'NothingToRetryError':
      return new HttpError(409, 'nothing_to_retry', `lead ${err.leadId}: ${err.reason}`);
    case 'RedriveBusyError':
      // A state of the namespace the client can wait out, not a server failure.
      return new HttpError(
        409,
        'redrive_busy',
        `another batch operation (${err.runningJobId}) is running in this namespace; retry when it has finished`,
        [],
        { 'retry-after': '5' },
      );
    case 'RedriveJobNotFoundError':
      return new HttpError(404, 'redrive_job_not_found', `no re-drive job with id ${err.jobId}`);
    case 'AutomationNotFoundError':
      return new HttpError(404, 'automation_not_found', `no automation with id ${err.automationId}`);
    case 'AutomationDisabledError':
      return new HttpError(409, 'automation_disabled', `automation ${err.automationId} is disabled (enabled: false in its file)`);
    case 'RunNotFoundError':
      return new HttpError(404, 'run_not_found', `no automation run with id ${err.runId}`);
    case 'RunFinishedError':
      return new HttpError(409, 'run_finished', `automation run ${err.runId} has already finished (${err.status})`);
    case 'RunNotRetryableError':
      return new HttpError(
        409,
        'run_not_retryable',
        `automation run ${err.runId} is ${err.status}; only failed, cancelled, terminated or timed-out runs are retried (cancel a stuck run first)`,
      );
    case 'InvalidUnsubscribeLinkError':
      return new HttpError(400, 'invalid_unsubscribe_link', 'this unsubscribe link is not valid; use the link from the email');
    case 'TemporalUnavailableError':
      // The detail goes to the logs only (app.ts); clients get a stable message.
      return new HttpError(503, 'temporal_unavailable', 'the workflow service cannot take this request now; retry later', [], {
        'retry-after': String(err.retryAfterSeconds),
      });
    case 'InvalidCursorError':
      return new HttpError(400, 'invalid_request', 'the cursor is not one this API handed out', [
        { path: 'query.cursor', code: 'invalid_cursor', message: 'use the next_cursor value of a previous page' },
      ]);
    default: {
      const unnamed: never = err;
      throw new Error(`no HTTP answer for ${(unnamed as Error).name}`);
    }
  }
}

function qualify(where: string, path: string): string {
  if (where === 'body') return path || '(body)';
  const prefix = where === 'querystring' ? 'query' : where;
  return path ? `${prefix}.${path}` : prefix;
}

function badRequest(code: string, message: string, issues: Issue[]): MappedError {
  return { status: 400, headers: {}, body: { error: { code, message, issues } } };
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_BAD_URL: 'invalid_url',
  FST_ERR_MAX_PARAM_LENGTH: 'invalid_url',
};

function fastifyCode(code: string | undefined, status: number): string {
  if (code && FASTIFY_CODES[code]) return FASTIFY_CODES[code];
  if (status === 400) return 'invalid_json';
  if (status === 404) return 'not_found';
  if (status === 413) return 'body_too_large';
  if (status === 408) return 'request_timeout';
  if (status === 429) return 'rate_limited';
  if (status === 415) return 'unsupported_media_type';
  return 'bad_request';
}

/** A payload sent to /codec/decode that the configured keys cannot decrypt. */
export class PayloadNotDecryptableError extends HttpError {
  override name = 'PayloadNotDecryptableError';
  constructor(reason: string) {
    super(422, 'payload_not_decryptable', reason);
  }
}
