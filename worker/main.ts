import { getHeapStatistics } from 'node:v8';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { AutomationLoadError } from '../src/automations/loader.js';
import { loadConfigOrExit } from '../src/env-file.js';
import { workerHeapAdvice } from '../src/node-heap.js';
import { temporalSecurity, waitForTemporal } from '../src/temporal/connection.js';
import { startTracing } from '../src/tracing/tracing.js';
import { OutageLogger } from './outage-logger.js';
import { scrubbingLogFunction } from './scrubbing-log.js';
import { activityDepsFromConfig, createWorkers, migrateLegacyClaims, runWorkers } from './workers.js';

// Worker process entry: wires config, connection, adapters and workers, then runs until
// SIGTERM/SIGINT (the SDK's runtime drains in-flight tasks before exiting).
const config = loadConfigOrExit();
const security = temporalSecurity(config);
const heapAdvice = workerHeapAdvice(getHeapStatistics().heap_size_limit / 1_048_576, config.WORKER_MAX_CACHED_WORKFLOWS);
if (heapAdvice) console.warn(`worker: ${heapAdvice}`);

// The SDK core's own log lines come through the TS logger, so that a Temporal outage is told
// in one line when it starts and one when it ends, not one line per retried poll; every line
// is scrubbed of addresses and tokens before it is written (scrubbing-log.ts).
Runtime.install({
  logger: new OutageLogger(new DefaultLogger('INFO', scrubbingLogFunction()), {
    address: config.TEMPORAL_ADDRESS,
    probe: () => waitForTemporal(config.TEMPORAL_ADDRESS, { timeoutMs: 24 * 3_600_000, security }),
  }),
  telemetryOptions: {
    logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
    // The SDK core serves its own metrics (polls, task latencies, slots) for Prometheus.
    ...(config.WORKER_METRICS_PORT > 0 ? { metrics: { prometheus: { bindAddress: `${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}` } } } : {}),
  },
});

// The TS worker does not retry a failed first connection: wait for the server instead.
await waitForTemporal(config.TEMPORAL_ADDRESS, { timeoutMs: 120_000, security });
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS, ...security });
// Off unless configured (OTEL_EXPORTER_OTLP_ENDPOINT or TRACING_ENABLED); nothing of OpenTelemetry is loaded then.
const tracing = await startTracing(config, 'ao-worker');
const deps = activityDepsFromConfig(config, tracing);
let workers;
try {
  workers = await createWorkers(config, connection, deps, {}, tracing);
} catch (err) {
  // An invalid automation file stops start-up with the file, step and problem named.
  if (!(err instanceof AutomationLoadError)) throw err;
  console.error(`worker: ${err.message}`);
  process.exit(2);
}
console.log(
  `worker: polling ${config.TEMPORAL_TASK_QUEUE} and ${config.TEMPORAL_CRM_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`,
);
if (tracing) console.log(`worker: tracing to ${tracing.endpoint} as ${tracing.serviceName}`);
if (config.WORKER_METRICS_PORT > 0) console.log(`worker: metrics on http://${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}/metrics`);
// Leads from before email claims get theirs, once per deployment, beside the workers.
void migrateLegacyClaims(config, connection);
try {
  await runWorkers(workers);
} finally {
  deps.mailer.close();
  try {
    await connection.close();
  } finally {
    // The spans of the last tasks, flushed before the process ends.
    await tracing?.shutdown();
  }
}
