import cluster from 'node:cluster';
import type { RateLimiter, RateVerdict } from './rate-limit.js';

// With API_PROCESSES > 1 the kernel spreads connections over the processes: a limit counted
// in each would let a client through API_PROCESSES times over. The buckets live in the
// primary instead (which serves no requests); each request's take is one IPC round trip to it.

const TAKE = 'ao:rate-take';
const VERDICT = 'ao:rate-verdict';

export interface Take {
  type: typeof TAKE;
  id: number;
  bucket: string;
  cost: number;
}

interface Verdict {
  type: typeof VERDICT;
  id: number;
  verdict: RateVerdict;
}

/** In the primary: answers the API processes' takes from one set of buckets. */
export function serveClusterRateLimit(buckets: RateLimiter): void {
  cluster.on('message', (worker, message: Partial<Take>) => {
    if (message?.type !== TAKE || message.id === undefined || typeof message.bucket !== 'string') return;
    void Promise.resolve(buckets.take(message.bucket, message.cost ?? 1)).then((verdict) => {
      if (worker.isConnected()) worker.send({ type: VERDICT, id: message.id!, verdict } satisfies Verdict);
    });
  });
}

export interface Channel {
  send(message: Take): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** A cluster worker's IPC channel to its primary. */
const toPrimary: Channel = {
  send: (message) => process.send?.(message),
  onMessage: (listener) => process.on('message', listener),
};

/** In an API process: a limiter whose buckets are the primary's. */
export function clusterRateLimiter(channel: Channel = toPrimary): RateLimiter {
  const pending = new Map<number, (verdict: RateVerdict) => void>();
  let nextId = 0;
  channel.onMessage((message) => {
    const m = message as Partial<Verdict> | undefined;
    if (m?.type !== VERDICT || m.id === undefined || !m.verdict) return;
    pending.get(m.id)?.(m.verdict);
    pending.delete(m.id);
  });
  return {
    take(bucket, cost) {
      const id = nextId++;
      return new Promise<RateVerdict>((resolve) => {
        pending.set(id, resolve);
        channel.send({ type: TAKE, id, bucket, cost });
      });
    },
  };
}
