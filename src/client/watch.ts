import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '../domain/task.js';
import { WatchTimeoutError } from './errors.js';
import type { Task } from './types.js';

export interface WatchOptions {
  /** Between two reads; default 500 ms. */
  intervalMs?: number;
  /** Gives up with WatchTimeoutError after this long; default 120 s. */
  timeoutMs?: number;
}

/** Yields the task when first read and whenever its status or a step changed; returns once it ended. */
export async function* watchTask(get: (taskId: string) => Promise<Task>, taskId: string, opts: WatchOptions = {}): AsyncGenerator<Task> {
  const intervalMs = opts.intervalMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let seen: string | undefined;
  for (;;) {
    const task = await get(taskId);
    // read_source and timestamps change between reads without anything happening to the task.
    const state = JSON.stringify([task.status, task.attempts, task.last_error, task.steps.map((s) => [s.name, s.status, s.attempts, s.last_error])]);
    if (state !== seen) {
      seen = state;
      yield task;
    }
    if (isTerminal(task.status)) return;
    if (Date.now() + intervalMs > deadline) throw new WatchTimeoutError(taskId, timeoutMs, task.status);
    await sleep(intervalMs);
  }
}
