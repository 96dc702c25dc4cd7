import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app.js';
import {
  automationServiceFromConfig,
  consoleOptionsFromConfig,
  leadServiceFromConfig,
  startWatchdogFromConfig,
  statsServiceFromConfig,
  taskEventOptionsFromConfig,
} from '../../src/api/compose.js';
import { apiKeysOf } from '../../src/config.js';
import { TemporalCalls } from '../../src/api/temporal-calls.js';
import { startHarness, type Harness } from './harness.js';

/**
 * The API listening on a loopback port (the client speaks real HTTP), on the shared dev
 * server, with workers and the shipped automations at a time scale where `wait 2d` takes
 * 1.7 s; the status page at /console, and API keys when `env` sets API_KEYS. The watchdog
 * behind the alert rules runs only when `env` sets WATCHDOG_INTERVAL_MS.
 */
export interface ApiServer {
  harness: Harness;
  app: FastifyInstance;
  /** The app's Temporal calls (`pending`: those still open). */
  calls: TemporalCalls;
  baseUrl: string;
  /**
   * Where Prometheus scrapes this API (its /metrics, the watchdog's figures included). The
   * one place that says so for the tests that scrape it (test/e2e/alerts.test.ts,
   * test/integration/dashboard-metrics.test.ts).
   */
  metricsUrl: string;
  close(): Promise<void>;
}

export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const harness = await startHarness({ AUTOMATION_TIME_SCALE: '0.00001', ...env });
  // One record of the app's Temporal calls, drained before the harness closes the connection.
  const calls = new TemporalCalls(harness.client);
  const registry = new Registry();
  const app = await buildApp({
    metrics: { registry },
    leads: leadServiceFromConfig(harness.config, calls),
    automations: automationServiceFromConfig(harness.config, calls),
    stats: statsServiceFromConfig(harness.config, calls),
    console: consoleOptionsFromConfig(harness.config),
    apiKeys: apiKeysOf(harness.config),
    taskEvents: taskEventOptionsFromConfig(harness.config),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const watchdog = env.WATCHDOG_INTERVAL_MS ? startWatchdogFromConfig(harness.config, registry) : undefined;
  await harness.startWorker();
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    harness,
    app,
    calls,
    baseUrl,
    metricsUrl: `${baseUrl}/metrics`,
    async close() {
      await watchdog?.stop();
      await app.close();
      await calls.drain();
      await harness.close();
    },
  };
}
