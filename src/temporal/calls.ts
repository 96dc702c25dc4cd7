import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { decodePayloadsInPlace } from './payload-codec.js';
import { isNotFound } from './protocol.js';

/**
 * Temporal did not take or answer a call in time (down, unreachable, or past the deadline).
 * `detail` is for the logs; `retryAfterSeconds` is when a caller may try again.
 */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';
  constructor(
    readonly detail: string,
    readonly retryAfterSeconds = 2,
  ) {
    super(`Temporal unavailable: ${detail}`);
  }
}

/** How long past its deadline a call may take to fail on its own before the guard gives up on it. */
const GUARD_GRACE_MS = 250;

/**
 * The API's calls to Temporal, each under an absolute deadline, and the record of those
 * still open. Every service of the API goes through one of these, so no request waits on
 * Temporal past its deadline and closing the connection can wait for what is left.
 */
export class TemporalCalls {
  /** Temporal calls still open, including those a request stopped waiting for at its deadline. */
  private readonly inflight = new Set<Promise<unknown>>();

  /** The abort signal of the caller that may stop waiting early (a live stream whose client left). */
  private readonly abortScope = new AsyncLocalStorage<AbortSignal>();

  constructor(readonly client: Client) {}

  /** Temporal calls still open (for tests and the stream cleanup check). */
  get pending(): number {
    return this.inflight.size;
  }

  /**
   * Runs `fn` so that every call it starts here is also cancelled when `signal` aborts: a
   * live task stream whose client disconnected gives its read back at once, instead of
   * holding a gRPC call open to its deadline. Scoped with AsyncLocalStorage so the reads
   * need no extra parameter.
   */
  cancellable<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return this.abortScope.run(signal, fn);
  }

  /**
   * Runs Temporal calls under an absolute deadline (epoch ms): gRPC fails each call that is
   * still open then (DEADLINE_EXCEEDED, a 503 in src/api/errors.ts), and a guard timer fails
   * the call itself should a call not fail in time on its own, so no request waits on Temporal past
   * its deadline, whether Temporal is down, unreachable, or accepting and never answering.
   */
  within<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new TemporalUnavailableError('deadline passed before the call'));
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TemporalUnavailableError(`no answer within ${remaining} ms`)), remaining + GUARD_GRACE_MS);
    });
    const signal = this.abortScope.getStore();
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    const call = signal
      ? this.client.withAbortSignal(signal, () => this.client.withDeadline(deadline, fn))
      : this.client.withDeadline(deadline, fn);
    // The guard may win the race; the call then fails later on its own deadline, unobserved
    // here but tracked, so that closing the connection can wait for it (see drain()).
    this.inflight.add(call);
    call.then(
      () => this.inflight.delete(call),
      () => this.inflight.delete(call),
    );
    return Promise.race([call, guard]).finally(() => clearTimeout(timer));
  }

  /**
   * Resolves once every call started here has settled. Call it before closing the
   * connection: the SDK's gRPC retry timer of an abandoned call would otherwise fire on a
   * closed channel and throw outside any promise. Bounded by the call deadlines.
   */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Decrypts the encrypted payloads of a raw response (history, describe, visibility) in
   * place with the client's codecs, so code reading it with the default converter sees
   * plain payloads. The client decodes only what it returns decoded itself (query results,
   * describe().memo); raw protos it hands over as the server sent them.
   */
  decoded<T>(raw: T): Promise<T> {
    return decodePayloadsInPlace(this.client.options.loadedDataConverter.payloadCodecs, raw);
  }

  /** Temporal reachable and answering: used by GET /ready. */
  async ping(timeoutMs: number): Promise<boolean> {
    try {
      await this.within(Date.now() + timeoutMs, () => this.client.workflowService.getSystemInfo({}));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * One run's history (the current run without `runId`). An unknown workflow throws
   * `notFound()`; an older run gone past the retention period is undefined.
   */
  async runHistory(
    workflowId: string,
    runId: string | undefined,
    notFound: () => Error,
    deadline: number,
  ): Promise<temporal.api.history.v1.IHistoryEvent[] | undefined> {
    try {
      const history = await this.within(deadline, () => this.client.workflow.getHandle(workflowId, runId).fetchHistory());
      return (await this.decoded(history)).events ?? [];
    } catch (err) {
      if (isNotFound(err)) {
        if (runId) return undefined;
        throw notFound();
      }
      throw err;
    }
  }
}
