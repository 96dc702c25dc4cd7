import cluster from 'node:cluster';
import { performance } from 'node:perf_hooks';
import { clusterRateLimiter, serveClusterRateLimit } from '../src/api/cluster-rate-limit.js';
import { tokenBuckets } from '../src/api/rate-limit.js';

// What the shared rate limit costs an API process per request: one take is an IPC round trip
// to the primary. Measured one at a time (a request's added latency) and 64 at once (the
// throughput a process can have counted). Run: node dist/bench/rate-limit-ipc.js (after
// npm run build), or from sources with --import ./test/support/ts-resolve.mjs.

const ROUNDS = 20_000;

if (cluster.isPrimary) {
  serveClusterRateLimit(tokenBuckets(100_000_000));
  const worker = cluster.fork();
  worker.on('message', (m: { type?: string; text?: string }) => {
    if (m.type !== 'result') return;
    console.log(m.text);
    worker.kill();
  });
} else {
  const limiter = clusterRateLimiter();
  const local = tokenBuckets(100_000_000);
  for (let i = 0; i < 2000; i++) await limiter.take('warm', 1);
  let t = performance.now();
  for (let i = 0; i < ROUNDS; i++) local.take(`key:${i % 50}`, 1);
  const localUs = ((performance.now() - t) * 1000) / ROUNDS;
  t = performance.now();
  for (let i = 0; i < ROUNDS; i++) await limiter.take(`key:${i % 50}`, 1);
  const serialUs = ((performance.now() - t) * 1000) / ROUNDS;
  t = performance.now();
  for (let i = 0; i < ROUNDS; i += 64) await Promise.all(Array.from({ length: 64 }, (_, j) => limiter.take(`key:${j % 50}`, 1)));
  const concurrentUs = ((performance.now() - t) * 1000) / ROUNDS;
  process.send?.({
    type: 'result',
    text: `in-process take: ${localUs.toFixed(2)} µs; shared take, one at a time: ${serialUs.toFixed(1)} µs per request (round trip); 64 at once: ${concurrentUs.toFixed(1)} µs per request (${Math.round(1e6 / concurrentUs)}/s per process)`,
  });
}
