import fastifyUnderPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { OverloadedError } from './errors.js';

/** Load shedding: past any threshold every request but GET /health gets 503 + Retry-After. 0 = not checked. */
export interface OverloadOptions {
  /** Mean event-loop delay over one sample interval. */
  maxEventLoopDelayMs?: number;
  maxHeapUsedBytes?: number;
  maxRssBytes?: number;
  /** How often the process is measured; default 1000 ms. */
  sampleIntervalMs?: number;
  retryAfterSeconds?: number;
}

/**
 * Sheds load with @fastify/under-pressure: when the event loop lags or memory runs high,
 * answers 503 + Retry-After at once instead of queueing work the process cannot finish in
 * time. GET /health (liveness) still answers, so an overloaded process is not restarted.
 */
export async function registerLoadShedding(app: FastifyInstance, options: OverloadOptions): Promise<void> {
  const retryAfter = options.retryAfterSeconds ?? 5;
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs ?? 0,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? 0,
    maxRssBytes: options.maxRssBytes ?? 0,
    sampleInterval: options.sampleIntervalMs ?? 1000,
    pressureHandler: async (request, _reply, type, value) => {
      if (request.routeOptions.url === '/health') return;
      request.log.warn({ pressure: type, value }, 'overloaded: shedding request');
      throw new OverloadedError(retryAfter);
    },
  });
}
