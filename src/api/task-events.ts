import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { isTerminal, type StepStatus, type TaskState, type TaskStatus } from '../domain/task.js';
import { HttpError, mapError, ShuttingDownError, StreamLimitError } from './errors.js';
import type { ReadSource } from '../leads/lead-reads.js';

// Live task updates over Server-Sent Events (GET /api/tasks/:id/events). The process that
// holds the connection follows the task itself with the same read GET /api/tasks/:id uses
// (the read model: a describe and the newest history page, no worker needed), so any API
// process can serve any stream and nothing lives in another process's memory.
//
// Why polling and not a wait inside the lead workflow: an Update that waits for a change
// writes events to the lead's history for every watcher and every wait (bringing its
// continue-as-new closer) and needs a worker to answer; a long poll on the history
// (waitNewEvent) first pages through the whole run to get a token and never wakes for an
// activity retry, which is recorded only when the activity ends. A read every
// SSE_POLL_INTERVAL_MS is two cheap calls, bounded by SSE_MAX_STREAMS per process.

export interface TaskEventOptions {
  /** Live streams one process serves at once; past it, 503 too_many_streams. */
  maxStreams: number;
  /** A stream is ended after this long (the client reconnects with Last-Event-ID). */
  maxDurationMs: number;
  /** Between two reads of the task. */
  pollIntervalMs: number;
  /** Between two comment lines that keep proxies and idle timeouts from closing the stream. */
  heartbeatMs: number;
}

export const DEFAULT_TASK_EVENT_OPTIONS: TaskEventOptions = {
  maxStreams: 200,
  maxDurationMs: 30 * 60_000,
  pollIntervalMs: 1000,
  heartbeatMs: 15_000,
};

/** The `retry:` hint: how long an EventSource waits before it reconnects. */
export const RECONNECT_MS = 2000;
/** Reads that keep failing (Temporal down) are spaced out up to this. */
const MAX_BACKOFF_MS = 10_000;

/** One read of the task, its Temporal calls cancelled when `signal` aborts. */
export type TaskReader = (taskId: string, signal: AbortSignal) => Promise<{ task: TaskState; source: ReadSource }>;

const STATUS_RANK: Readonly<Record<TaskStatus, number>> = { queued: 0, running: 1, retrying: 1, completed: 2, failed: 2, cancelled: 2 };
const STEP_RANK: Readonly<Record<StepStatus, number>> = { pending: 0, running: 1, completed: 2, failed: 2, skipped: 2 };

/**
 * The event id of a task view: how far the task has come, counting its status, each step's
 * status and each attempt. It only grows as the task moves, so a client reconnecting with
 * Last-Event-ID is sent the current view only when it is further along than what it saw.
 */
export function taskProgress(task: TaskState): number {
  return STATUS_RANK[task.status] + task.steps.reduce((sum, step) => sum + STEP_RANK[step.status] + step.attempts, 0);
}

/** What makes two reads the same view: not read_source or timestamps, which change without the task moving. */
export function viewKey(task: TaskState): string {
  return JSON.stringify([
    task.status,
    task.version,
    task.attempts,
    task.last_error,
    task.steps.map((s) => [s.name, s.status, s.attempts, s.last_error, s.note ?? null]),
  ]);
}

/** Last-Event-ID as a progress count, or undefined when absent or not one this API sent. */
export function parseLastEventId(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : undefined;
}

/** One SSE frame; data is JSON on one line (JSON.stringify never emits a raw newline). */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The live task streams of one API process: the cap, the per-stream timers and reads, and
 * the cleanup that runs whichever way a stream ends (task terminal, client gone, maximum
 * duration, app closing).
 */
export class TaskEventStreams {
  private readonly open = new Set<TaskStream>();
  private closing = false;
  private readonly gauge: Gauge | undefined;

  constructor(
    private readonly read: TaskReader,
    private readonly options: TaskEventOptions = DEFAULT_TASK_EVENT_OPTIONS,
    registry?: Registry,
  ) {
    this.gauge = registry
      ? new Gauge({ name: 'api_sse_streams', help: 'Live task event streams (GET /api/tasks/:id/events) open now.', registers: [registry] })
      : undefined;
  }

  /** Streams open in this process, those still reading their first view included. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Serves one stream. The first read happens before any byte is sent, so an unknown task is
   * a 404 and Temporal down a 503, in the contract's JSON shape like every other route.
   */
  async serve(taskId: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.closing) throw new ShuttingDownError();
    if (this.open.size >= this.options.maxStreams) {
      // As long as an EventSource waits to reconnect: the same pace whether it was refused or cut off.
      throw new StreamLimitError(this.options.maxStreams, RECONNECT_MS / 1000);
    }
    const stream = new TaskStream(taskId, this.read, this.options, reply, () => this.release(stream));
    this.open.add(stream);
    this.gauge?.inc();
    let first: { task: TaskState; source: ReadSource };
    try {
      first = await this.read(taskId, stream.signal);
    } catch (err) {
      const clientLeft = stream.signal.aborted && !this.closing;
      stream.release();
      // The app began closing during the first read (closeAll cancelled it).
      if (this.closing) throw new ShuttingDownError();
      if (!clientLeft) throw err;
      reply.hijack(); // the client left during the first read (which was cancelled): nothing to answer
      return;
    }
    if (stream.signal.aborted) {
      if (this.closing) throw new ShuttingDownError();
      reply.hijack(); // the client left during the first read: nothing to answer
      return;
    }
    stream.start(first.task, first.source, parseLastEventId(request.headers['last-event-id']));
  }

  /** Ends every open stream now (the app is closing) and refuses new ones. */
  closeAll(): void {
    this.closing = true;
    for (const stream of [...this.open]) stream.end(': the server is shutting down; reconnect\n\n');
  }

  private release(stream: TaskStream): void {
    if (this.open.delete(stream)) this.gauge?.dec();
  }
}

/** One client's stream: its response, timers and reads, all let go in release(). */
class TaskStream {
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private lastKey: string | undefined;
  private lastId = -1;
  private temporalDown = false;
  private released = false;

  constructor(
    private readonly taskId: string,
    private readonly read: TaskReader,
    private readonly options: TaskEventOptions,
    private readonly reply: FastifyReply,
    private readonly onRelease: () => void,
  ) {
    // 'close' fires when the response ended or the client went away, whichever comes first.
    reply.raw.once('close', () => this.release());
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  start(first: TaskState, source: ReadSource, lastEventId: number | undefined): void {
    // The stream manages its own lifetime: no handler timeout, no serializer, no onSend.
    this.reply.hijack();
    const raw = this.reply.raw;
    raw.writeHead(200, {
      ...(this.reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Each stream has its connection to itself, closed at its end (also when the app closes).
      connection: 'close',
      // nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    raw.write(`retry: ${RECONNECT_MS}\n\n`);
    this.timers.push(setInterval(() => this.write(': keep-alive\n\n'), this.options.heartbeatMs));
    this.timers.push(setTimeout(() => this.end(': maximum stream duration reached; reconnect with Last-Event-ID\n\n'), this.options.maxDurationMs));
    if (lastEventId !== undefined && taskProgress(first) <= lastEventId) {
      // The client saw this view (or a later one) before it reconnected.
      this.lastKey = viewKey(first);
      this.lastId = lastEventId;
    } else {
      this.send(first, source);
    }
    if (isTerminal(first.status)) return this.finish(first);
    void this.follow();
  }

  /** Reads the task every poll interval until it is terminal or the stream is let go. */
  private async follow(): Promise<void> {
    let failures = 0;
    while (!this.signal.aborted) {
      const pause = Math.min(MAX_BACKOFF_MS, this.options.pollIntervalMs * 2 ** Math.min(failures, 6));
      try {
        await sleep(pause, undefined, { signal: this.signal });
      } catch {
        return; // released
      }
      let task: TaskState;
      let source: ReadSource;
      try {
        ({ task, source } = await this.read(this.taskId, this.signal));
      } catch (err) {
        if (this.signal.aborted) return;
        failures++;
        if (!this.failed(err)) return;
        continue;
      }
      if (this.signal.aborted) return;
      failures = 0;
      if (this.temporalDown) {
        this.temporalDown = false;
        this.write(sseFrame('status', { temporal: 'available' }));
      }
      this.send(task, source);
      if (isTerminal(task.status)) return this.finish(task);
    }
  }

  /**
   * A read failed. Temporal unavailable (503): the stream stays open, says so once in a
   * `status` event and keeps reading, more slowly; the views it missed are sent when reads
   * succeed again. Any other error (the task is gone): an `error` event, then the end.
   * Returns whether to keep reading.
   */
  private failed(err: unknown): boolean {
    const mapped = mapError(err);
    if (mapped.status === 503) {
      if (!this.temporalDown) {
        this.temporalDown = true;
        this.write(sseFrame('status', { temporal: 'unavailable', error: { code: mapped.body.error.code, message: mapped.body.error.message } }));
      }
      return true;
    }
    const body = err instanceof HttpError || mapped.status < 500 ? mapped.body : { error: { code: 'internal_error', message: 'the task could not be read', issues: [] } };
    this.end(sseFrame('error', body));
    return false;
  }

  /** Sends the view if it differs from the last one sent and is not behind it (a read from a less complete source). */
  private send(task: TaskState, source: ReadSource): void {
    const key = viewKey(task);
    const id = taskProgress(task);
    if (key === this.lastKey || id < this.lastId) return;
    this.lastKey = key;
    this.lastId = id;
    // The same JSON as GET /api/tasks/:id.
    this.write(sseFrame('task', { ...task, read_source: source }, id));
  }

  private finish(task: TaskState): void {
    this.end(sseFrame('end', { status: task.status }, Math.max(this.lastId, taskProgress(task))));
  }

  private write(chunk: string): void {
    if (!this.released && !this.reply.raw.writableEnded) this.reply.raw.write(chunk);
  }

  /** Writes a last chunk, ends the response and lets everything go. */
  end(last: string): void {
    if (!this.released && this.reply.sent && !this.reply.raw.writableEnded) this.reply.raw.end(last);
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
    this.onRelease();
  }
}
