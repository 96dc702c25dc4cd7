import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { buildApp, buildOpsApp, type AppDeps } from '../../src/api/app.js';
import {
  automationServiceFromConfig,
  consoleOptionsFromConfig,
  leadServiceFromConfig,
  startWatchdogFromConfig,
  statsServiceFromConfig,
  taskEventOptionsFromConfig,
} from '../../src/api/compose.js';
import { apiKeysOf } from '../../src/config.js';
import { TemporalCalls } from '../../src/temporal/calls.js';
import { startHarness, type Harness } from './harness.js';

/**
 * The API listening on a loopback port (the client speaks real HTTP), on the shared dev
 * server, with workers and the shipped automations at a time scale where `wait 2d` takes
 * 1.7 s; the ops listener beside it on another loopback port (/metrics, /ready, the status
 * page at /console), and API keys when `env` sets API_KEYS. The watchdog behind the alert
 * rules runs only when `env` sets WATCHDOG_INTERVAL_MS.
 */
export interface ApiServer {
  harness: Harness;
  app: FastifyInstance;
  ops: FastifyInstance;
  /** The app's Temporal calls (`pending`: those still open). */
  calls: TemporalCalls;
  baseUrl: string;
  /** The ops listener's address. */
  opsUrl: string;
  /**
   * Where Prometheus scrapes this API (the ops listener's /metrics, the watchdog's figures
   * included). The one place that says so for the tests that scrape it
   * (test/e2e/alerts.test.ts, test/integration/dashboard-metrics.test.ts).
   */
  metricsUrl: string;
  close(): Promise<void>;
}

export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const harness = await startHarness({ AUTOMATION_TIME_SCALE: '0.00001', ...env });
  // One record of the app's Temporal calls, drained before the harness closes the connection.
  const calls = new TemporalCalls(harness.client);
  const registry = new Registry();
  const deps: AppDeps = {
    leads: leadServiceFromConfig(harness.config, calls),
    automations: automationServiceFromConfig(harness.config, calls),
    stats: statsServiceFromConfig(harness.config, calls),
    console: consoleOptionsFromConfig(harness.config),
    apiKeys: apiKeysOf(harness.config),
    taskEvents: taskEventOptionsFromConfig(harness.config),
    metrics: { registry },
  };
  const app = await buildApp(deps);
  const ops = await buildOpsApp(deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  await ops.listen({ port: 0, host: '127.0.0.1' });
  const watchdog = env.WATCHDOG_INTERVAL_MS ? startWatchdogFromConfig(harness.config, registry) : undefined;
  await harness.startWorker();
  const urlOf = (a: FastifyInstance) => `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
  return {
    harness,
    app,
    ops,
    calls,
    baseUrl: urlOf(app),
    opsUrl: urlOf(ops),
    metricsUrl: `${urlOf(ops)}/metrics`,
    async close() {
      await watchdog?.stop();
      await app.close();
      await ops.close();
      await calls.drain();
      await harness.close();
    },
  };
}
