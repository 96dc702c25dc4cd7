import cluster from 'node:cluster';
import { Registry } from 'prom-client';
import { apiKeysOf, openApiRefusal } from '../config.js';
import { tracesEndpoint } from '../tracing/tracing.js';
import { loadConfigOrExit } from '../env-file.js';
import { clusterMetricsOptions, serveClusterMetrics } from './cluster-metrics.js';
import { buildApiFromConfig, loggerOptions, startWatchdogFromConfig } from './compose.js';

// API process entry. With API_PROCESSES > 1 the primary forks that many processes that
// share the listening socket (node:cluster); any of them can serve any request because
// no lead state lives in process memory. The watchdog behind the alert rules runs in one
// process only: the primary when there are several, else the one.

const config = loadConfigOrExit();
// Open (no API_KEYS) is the zero-setup default on loopback only.
const refusal = openApiRefusal(config);
if (refusal) {
  console.error(refusal);
  process.exit(2);
}

/** Fails fast, naming the variable, when the port is taken (cluster workers would only retry). */
async function assertPortFree(host: string, port: number): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      console.error(
        err.code === 'EADDRINUSE'
          ? `api: port ${port} on ${host} is already in use (set PORT)`
          : `api: cannot listen on ${host}:${port}: ${err.message}`,
      );
      process.exit(1);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

if (cluster.isPrimary && config.API_PROCESSES > 1) {
  await assertPortFree(config.HOST, config.PORT);
  const own = new Registry();
  const watchdog = startWatchdogFromConfig(config, own);
  serveClusterMetrics(own);
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.API_PROCESSES; i++) fork();
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === config.API_PROCESSES) {
      console.log(`api: listening on http://${config.HOST}:${config.PORT} (${config.API_PROCESSES} processes)`);
      const traces = tracesEndpoint(config);
      if (traces) console.log(`api: tracing to ${traces} as ao-api`);
    }
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
  const metrics = registry ? { registry } : clusterMetricsOptions();
  const { app, close } = await buildApiFromConfig(config, loggerOptions(config.LOG_LEVEL, { apiKeys: apiKeysOf(config) }), metrics);
  const watchdog = registry ? startWatchdogFromConfig(config, registry) : undefined;
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(
      code === 'EADDRINUSE'
        ? `api: port ${config.PORT} on ${config.HOST} is already in use (set PORT)`
        : `api: cannot listen: ${(err as Error).message}`,
    );
    process.exit(1);
  }
  if (cluster.isPrimary) console.log(`api: listening on http://${config.HOST}:${config.PORT} (1 process)`);
  const traces = tracesEndpoint(config);
  if (traces && cluster.isPrimary) console.log(`api: tracing to ${traces} as ao-api`);
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
