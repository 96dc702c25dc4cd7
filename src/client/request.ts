import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, TransportError } from './errors.js';
import { isRetryable, parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import type { HttpMethod, Transport, TransportOutcome } from './transport.js';

/** One logical request; its retries all carry the same headers, Idempotency-Key included. */
export interface Call {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  body?: unknown;
  idempotencyKey?: string | undefined;
  /** May be sent again after an unknown outcome: a read, a keyed write, a cancel. */
  repeatable: boolean;
  /** Per attempt, instead of the client's. */
  timeoutMs?: number | undefined;
}

export interface RequesterOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  transport: Transport;
  retry: RetryPolicy;
  /** Per attempt. */
  timeoutMs: number;
}

export type Requester = <T>(call: Call) => Promise<T>;

export function createRequester(options: RequesterOptions): Requester {
  const base = options.baseUrl.replace(/\/+$/, '');
  return async <T>(call: Call): Promise<T> => {
    const url = base + call.path + queryString(call.query);
    const headers: Record<string, string> = {};
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      const outcome = await options.transport({ method: call.method, url, headers, body: call.body, timeoutMs: call.timeoutMs ?? options.timeoutMs });
      if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) return outcome.body as T;
      const delay = isRetryable(outcome, call.repeatable)
        ? retryDelay(options.retry, attempt, outcome, Date.now() - startedAt)
        : undefined;
      if (delay === undefined) throw toError(outcome, call.method, url);
      await sleep(delay);
    }
  };
}

function toError(outcome: TransportOutcome, method: string, url: string): Error {
  if (outcome.kind === 'error') return new TransportError(outcome.code, outcome.message, method, url);
  return new ApiError(outcome.status, outcome.body, parseRetryAfter(outcome.headers['retry-after']));
}

function queryString(query: Call['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
