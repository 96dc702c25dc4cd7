import { DefaultLogger, Runtime } from '@temporalio/worker';
import { getFreePort } from '../../tooling/temporal/ports.js';

/**
 * Installs this test process's Temporal runtime with the SDK's Prometheus exporter on a free
 * loopback port, as worker/main.ts does with WORKER_METRICS_PORT. Import it before
 * ./harness.js, whose own install (without metrics) then finds a runtime in place.
 */
const port = await getFreePort();
Runtime.install({
  // ERROR: the faults a test injects would log every failed activity attempt at WARN.
  logger: new DefaultLogger('ERROR'),
  telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
});

export const workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
