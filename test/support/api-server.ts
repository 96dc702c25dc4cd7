import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/api/app.js';
import { automationServiceFromConfig, consoleOptionsFromConfig, leadServiceFromConfig, statsServiceFromConfig, taskEventOptionsFromConfig } from '../../src/api/compose.js';
import { TemporalCalls } from '../../src/api/temporal-calls.js';
import { startHarness, type Harness } from './harness.js';

/**
 * The API listening on a loopback port (the client speaks real HTTP), on the shared dev
 * server, with workers and the shipped automations at a time scale where `wait 2d` takes
 * 1.7 s; the status page at /console, and API keys when `env` sets API_KEYS.
 */
export interface ApiServer {
  harness: Harness;
  app: FastifyInstance;
  /** The app's Temporal calls (`pending`: those still open). */
  calls: TemporalCalls;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startApiServer(env: Record<string, string> = {}): Promise<ApiServer> {
  const harness = await startHarness({ AUTOMATION_TIME_SCALE: '0.00001', ...env });
  // One record of the app's Temporal calls, drained before the harness closes the connection.
  const calls = new TemporalCalls(harness.client);
  const app = await buildApp({
    leads: leadServiceFromConfig(harness.config, calls),
    automations: automationServiceFromConfig(harness.config, calls),
    stats: statsServiceFromConfig(harness.config, calls),
    console: consoleOptionsFromConfig(harness.config),
    apiKeys: (harness.config.API_KEYS ?? '').split(','),
    taskEvents: taskEventOptionsFromConfig(harness.config),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await harness.startWorker();
  return {
    harness,
    app,
    calls,
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async close() {
      await app.close();
      await calls.drain();
      await harness.close();
    },
  };
}
