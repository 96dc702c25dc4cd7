import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../src/config.js';
import { waitForTemporal } from '../src/temporal/dev-server.js';
import { activityDepsFromConfig, createWorkers, runWorkers } from './workers.js';

// Worker process entry: wires config, connection, adapters and workers, then runs until
// SIGTERM/SIGINT (the SDK's runtime drains in-flight tasks before exiting).
const config = loadConfig();
await waitForTemporal(config.TEMPORAL_ADDRESS, { timeoutMs: 120_000 });
const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const deps = activityDepsFromConfig(config);
const workers = await createWorkers(config, connection, deps);
console.log(
  `worker: polling ${config.TEMPORAL_TASK_QUEUE} and ${config.TEMPORAL_CRM_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`,
);
try {
  await runWorkers(workers);
} finally {
  deps.mailer.close();
  await connection.close();
}
