import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { openApiRefusal, plaintextApiKeysOf, rateLimitPerMinuteOf } from '../config.js';
import { tracesEndpoint } from '../tracing/tracing.js';
import { loadConfigOrExit } from '../env-file.js';
import { clusterMetricsOptions, serveClusterMetrics } from './cluster-metrics.js';
import { clusterRateLimiter, serveClusterRateLimit } from './cluster-rate-limit.js';
import { tokenBuckets } from './rate-limit.js';
import { buildApiFromConfig, loggerOptions, startWatchdogFromConfig } from './compose.js';

// API process entry. Each process listens twice: the public app on HOST:PORT and the ops
// app (metrics, readiness, codec, status page) on OPS_HOST:OPS_PORT. With API_PROCESSES > 1
// the primary forks that many processes that share both listening sockets (node:cluster),
// so the ops port, too, is one port for the whole API; any process can serve any request
// because no lead state lives in process memory, and /metrics sums every process's
// (cluster-metrics.ts). The watchdog behind the alert rules runs in one process only: the
// primary when there are several, else the one.

const config = loadConfigOrExit();
// Open (no API_KEYS) is the zero-setup default on loopback only.
const refusal = openApiRefusal(config);
if (refusal) {
  console.error(refusal);
  process.exit(2);
}

/** The two listeners, in the order each process opens them. */
const LISTENERS = [
  { what: 'listening', host: config.HOST, port: config.PORT, variable: 'PORT' },
  { what: 'operations (metrics, readiness, codec, status page)', host: config.OPS_HOST, port: config.OPS_PORT, variable: 'OPS_PORT' },
] as const;

/** Fails fast, naming the variable, when the port is taken (cluster workers would only retry). */
async function assertPortFree(host: string, port: number, variable: string): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      console.error(
        err.code === 'EADDRINUSE'
          ? `api: port ${port} on ${host} is already in use (set ${variable})`
          : `api: cannot listen on ${host}:${port}: ${err.message}`,
      );
      process.exit(1);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** What the API prints once up: each listener's address as it was bound (a port of 0 is a free one). */
function announce(ports: readonly number[], processes: string): void {
  LISTENERS.forEach((l, i) => console.log(`api: ${l.what} on http://${l.host}:${ports[i] ?? l.port}${i === 0 ? ` (${processes})` : ''}`));
  const traces = tracesEndpoint(config);
  if (traces) console.log(`api: tracing to ${traces} as ao-api`);
}

if (cluster.isPrimary && config.API_PROCESSES > 1) {
  for (const l of LISTENERS) if (l.port !== 0) await assertPortFree(l.host, l.port, l.variable);
  const own = new Registry();
  const watchdog = startWatchdogFromConfig(config, own);
  serveClusterMetrics(own);
  // One set of rate-limit buckets for every process, so a client's limit is the API's, not each process's.
  const perMinute = rateLimitPerMinuteOf(config);
  if (perMinute > 0) serveClusterRateLimit(tokenBuckets(perMinute));
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.API_PROCESSES; i++) fork();
  // A process is up once it listens on both ports (public first, then ops).
  const bound = new Map<number, number[]>();
  let listening = 0;
  cluster.on('listening', (worker, address) => {
    const ports = [...(bound.get(worker.id) ?? []), address.port];
    bound.set(worker.id, ports);
    if (ports.length === LISTENERS.length && ++listening === config.API_PROCESSES) announce(ports, `${config.API_PROCESSES} processes`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (listening < config.API_PROCESSES) {
      console.error(`api: process ${worker.process.pid} failed during start-up (${signal ?? code})`);
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    console.error(`api: process ${worker.process.pid} exited (${signal ?? code}); starting a new one`);
    setTimeout(fork, 500);
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void watchdog?.stop();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        process.exit(0);
      }
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  // One process alone (the primary) records in a registry of its own, the watchdog's too.
  const registry = cluster.isPrimary ? new Registry() : undefined;
  const { app, ops, close } = await buildApiFromConfig(
    config,
    loggerOptions(config.LOG_LEVEL, { apiKeys: plaintextApiKeysOf(config) }),
    registry ? { registry } : clusterMetricsOptions(),
    cluster.isWorker && rateLimitPerMinuteOf(config) > 0 ? clusterRateLimiter() : undefined,
  );
  const watchdog = registry ? startWatchdogFromConfig(config, registry) : undefined;
  const ports: number[] = [];
  for (const [i, server] of [app, ops].entries()) {
    const l = LISTENERS[i]!;
    try {
      await server.listen({ host: l.host, port: l.port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      console.error(
        code === 'EADDRINUSE'
          ? `api: port ${l.port} on ${l.host} is already in use (set ${l.variable})`
          : `api: cannot listen on ${l.host}:${l.port}: ${(err as Error).message}`,
      );
      process.exit(1);
    }
    ports.push((server.server.address() as AddressInfo).port);
  }
  if (cluster.isPrimary) announce(ports, '1 process');
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await watchdog?.stop().catch(() => undefined);
    // Stop accepting, let in-flight requests finish, then leave.
    await close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
