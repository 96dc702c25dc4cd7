import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, TransportError } from './errors.js';
import { parseBody } from './transport.js';
import { isRetryable, parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import type { Task } from './types.js';

// GET /api/tasks/:id/events (Server-Sent Events) as an async iterator, over fetch. A stream
// that drops before its `end` (network, the server's maximum duration, an API process that
// stopped) is opened again with Last-Event-ID after the server's `retry:` hint, so the
// caller sees one sequence of changes however many connections carried it.

export type TaskStreamEvent =
  | { event: 'task'; id: number; task: Task }
  | { event: 'status'; temporal: 'unavailable' | 'available'; error?: { code: string; message: string } }
  | { event: 'end'; id: number; status: Task['status'] };

export interface TaskEventsOptions {
  /** Stops the stream (the iterator then ends quietly). */
  signal?: AbortSignal;
  /** Resume after this event id (what a previous stream's last event carried). */
  lastEventId?: number;
  /** Reconnects when nothing, not even a heartbeat, arrived for this long; default 45 s (three heartbeats). */
  idleMs?: number;
}

export interface EventStreamDeps {
  url: string;
  headers: Record<string, string>;
  fetch: typeof fetch;
  retry: RetryPolicy;
  /** How long to wait for the answer's headers. */
  timeoutMs: number;
}

interface Frame {
  event: string;
  data: string;
  id: string | undefined;
  retry: number | undefined;
}

/** Splits an SSE body into frames (comments dropped), per the WHATWG event-stream format. */
export async function* sseFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buffer = '';
  let frame: Frame = { event: 'message', data: '', id: undefined, retry: undefined };
  let hasData = false;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (hasData || frame.retry !== undefined) yield frame;
        frame = { event: 'message', data: '', id: undefined, retry: undefined };
        hasData = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') frame.event = value;
      else if (field === 'data') {
        frame.data = hasData ? `${frame.data}\n${value}` : value;
        hasData = true;
      } else if (field === 'id') frame.id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value);
    }
  }
}

/** The task's events until its `end`, across reconnects. */
export async function* taskEvents(deps: EventStreamDeps, opts: TaskEventsOptions = {}): AsyncGenerator<TaskStreamEvent> {
  const idleMs = opts.idleMs ?? 45_000;
  let lastEventId = opts.lastEventId;
  let reconnectMs = 2000;
  let attempt = 0;
  let failingSince = 0;
  for (;;) {
    if (opts.signal?.aborted) return;
    const attemptAbort = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, attemptAbort.signal]) : attemptAbort.signal;
    const headers = { ...deps.headers, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }) };
    let idle = setTimeout(() => attemptAbort.abort(new Error('no answer')), deps.timeoutMs);
    let failure: { delay: number | undefined; error: Error };
    try {
      const res = await deps.fetch(deps.url, { headers, signal });
      if (res.status !== 200 || !res.body) {
        const body = parseBody(await res.text());
        const outcome = { kind: 'response' as const, status: res.status, headers: Object.fromEntries(res.headers), body };
        if (attempt++ === 0) failingSince = Date.now();
        const delay = isRetryable(outcome, true) ? retryDelay(deps.retry, attempt, outcome, Date.now() - failingSince) : undefined;
        failure = { delay, error: new ApiError(res.status, body, parseRetryAfter(outcome.headers['retry-after'])) };
      } else {
        attempt = 0;
        const rearm = () => {
          clearTimeout(idle);
          idle = setTimeout(() => attemptAbort.abort(new Error('stream idle')), idleMs);
        };
        rearm();
        // Heartbeats are comments the frame parser drops: watch the bytes, not the frames.
        const watched = (async function* () {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            rearm();
            yield chunk;
          }
        })();
        for await (const frame of sseFrames(watched)) {
          if (frame.retry !== undefined) reconnectMs = frame.retry;
          if (frame.id !== undefined && /^\d+$/.test(frame.id)) lastEventId = Number(frame.id);
          const data = frame.data ? (JSON.parse(frame.data) as Record<string, unknown>) : {};
          if (frame.event === 'task') yield { event: 'task', id: lastEventId ?? 0, task: data as unknown as Task };
          else if (frame.event === 'status') yield { event: 'status', ...(data as Omit<Extract<TaskStreamEvent, { event: 'status' }>, 'event'>) };
          else if (frame.event === 'end') {
            yield { event: 'end', id: lastEventId ?? 0, status: data.status as Task['status'] };
            return;
          } else if (frame.event === 'error') {
            // The task could no longer be read (it is gone): the body is the API's error shape.
            const code = (data as { error?: { code?: unknown } }).error?.code;
            throw new ApiError(typeof code === 'string' && code.endsWith('not_found') ? 404 : 500, data, undefined);
          }
        }
        // The server closed the stream before the task ended (maximum duration, shutdown): resume.
        failure = { delay: reconnectMs, error: new Error('stream closed before its end') };
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (err instanceof ApiError) throw err;
      if (attempt++ === 0) failingSince = Date.now();
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const code = typeof cause?.code === 'string' ? cause.code : (err as Error).name;
      const delay = retryDelay(deps.retry, attempt, { kind: 'error', code, message: String((err as Error).message) }, Date.now() - failingSince);
      failure = { delay: delay === undefined ? undefined : Math.max(delay, reconnectMs), error: new TransportError(code, (err as Error).message, 'GET', deps.url) };
    } finally {
      clearTimeout(idle);
      attemptAbort.abort();
    }
    if (failure.delay === undefined) throw failure.error;
    try {
      await sleep(failure.delay, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      return; // aborted by the caller
    }
  }
}
