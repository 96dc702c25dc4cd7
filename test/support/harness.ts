import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { Registry } from 'prom-client';
import { buildApp, buildOpsApp, type AppDeps } from '../../src/api/app.js';
import { crmWebhookOptionsFromConfig, leadServiceFromConfig, workflowSettingsFromConfig } from '../../src/api/compose.js';
import { LeadService } from '../../src/leads/lead-service.js';
import { loadConfig, type Config } from '../../src/config.js';
import { dataConverterFromConfig, encryptionCodecFromConfig } from '../../src/temporal/payload-codec.js';
import { startTracing, type Tracing } from '../../src/tracing/tracing.js';
import { startCrmSimulator, type CrmSimulator } from '../../tooling/simulators/crm-simulator.js';
import { startSmtpSink, type SmtpSink } from '../../tooling/simulators/smtp-sink.js';
import { activityDepsFromConfig, createWorkers } from '../../worker/workers.js';

/**
 * A real stack in one test process: the shared Temporal dev server from globalSetup,
 * a CRM simulator (HTTP) and an SMTP sink (SMTP) on free ports, the API app built with
 * a real Temporal client, and workers that can be stopped and started again. Each
 * harness gets its own task queues, so test files do not see each other's work.
 */
// Worker state changes at INFO would drown the test output.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}

export interface Harness {
  config: Config;
  /** The public app (PORT). */
  app: FastifyInstance;
  /** The ops app (OPS_PORT): /ready, /metrics, /codec, /console; the same lead service. */
  ops: FastifyInstance;
  client: Client;
  crm: CrmSimulator;
  smtp: SmtpSink;
  /** The workers' tracing (service `ao-worker`) when the env turns it on (OTEL_EXPORTER_OTLP_ENDPOINT). */
  tracing: Tracing | undefined;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const address = inject('temporalAddress');
  const crm = await startCrmSimulator({ port: 0 });
  const smtp = await startSmtpSink({ smtpPort: 0, httpPort: 0 });
  const suffix = randomBytes(4).toString('hex');
  const config = loadConfig({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `leads-${suffix}`,
    TEMPORAL_CRM_TASK_QUEUE: `leads-crm-${suffix}`,
    // Email claims and suppressions are per address in the namespace: a key of its own keeps
    // each harness's addresses apart from other test files' on the shared server.
    EMAIL_HASH_SECRETS: `test-email-hash-secret-${suffix}`,
    CRM_BASE_URL: crm.url,
    CRM_TIMEOUT_MS: '2000',
    CRM_RATE_LIMIT_PER_SECOND: '0',
    SMTP_PORT: String(smtp.smtpPort),
    RETRY_INITIAL_INTERVAL_MS: '100',
    RETRY_MAX_INTERVAL_MS: '500',
    RETRY_MAX_ATTEMPTS: '6',
    CRM_RESYNC_INTERVAL_MS: '1000',
    // Generous: on a busy CI machine a healthy worker can take over a second to answer a query.
    QUERY_TIMEOUT_MS: '5000',
    READ_TIMEOUT_MS: '20000',
    HANDLER_TIMEOUT_MS: '40000',
    ...env,
  });
  const connection = await Connection.connect({ address });
  // With TEMPORAL_CODEC_KEYS in `env`, the API's client encrypts as the real one does (the workers take it from config).
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFromConfig(config) });
  const appDeps: AppDeps = {
    leads: leadServiceFromConfig(config, client),
    codec: encryptionCodecFromConfig(config),
    crmWebhooks: crmWebhookOptionsFromConfig(config),
    metrics: { registry: new Registry() },
  };
  const app = await buildApp(appDeps);
  const ops = await buildOpsApp(appDeps);
  const nativeConnection = await NativeConnection.connect({ address });
  const tracing = await startTracing(config, 'ao-worker');
  const deps = activityDepsFromConfig(config, tracing);

  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;

  const harness: Harness = {
    config,
    app,
    ops,
    client,
    crm,
    smtp,
    tracing,
    async startWorker() {
      if (running) return;
      workers = await createWorkers(config, nativeConnection, deps, { shutdownGraceTime: '1s' }, tracing);
      running = Promise.all(workers.map((w) => w.run()));
    },
    async stopWorker() {
      if (!running) return;
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      running = undefined;
    },
    async close() {
      await harness.stopWorker();
      deps.mailer.close();
      await app.close();
      await ops.close();
      await nativeConnection.close();
      await connection.close();
      await crm.close();
      await smtp.close();
      await tracing?.shutdown();
    },
  };
  return harness;
}

/**
 * The app wired to a Temporal address nothing listens on, with short deadlines: every call
 * to Temporal fails within its deadline (a 503 for the client).
 */
export async function startUnreachableApp(config: Config): Promise<{ app: FastifyInstance; ops: FastifyInstance; close(): Promise<void> }> {
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const leads = new LeadService(new Client({ connection }), {
    namespace: 'default',
    taskQueue: 'x',
    settings: workflowSettingsFromConfig(config),
    queryTimeoutMs: 500,
    writeTimeoutMs: 1000,
  });
  const deps: AppDeps = { leads, metrics: { registry: new Registry() } };
  const app = await buildApp(deps);
  const ops = await buildOpsApp(deps);
  return {
    app,
    ops,
    async close() {
      await app.close();
      await ops.close();
      // Calls a request stopped waiting for still retry on the SDK's timers: let them settle
      // before the channel closes, or a retry fires on a closed channel outside any promise.
      await leads.drain();
      await connection.close().catch(() => undefined);
    },
  };
}

let emailCounter = 0;
export function uniqueEmail(tag = 'lead'): string {
  emailCounter += 1;
  return `${tag}.${Date.now().toString(36)}.${emailCounter}.${randomBytes(3).toString('hex')}@acme-corp.example`;
}

/** Polls until `check` returns a value (not undefined), or fails with the last state seen. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Convenience wrapper around app.inject for JSON calls. */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const response = await app.inject({
    method,
    url,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed: unknown;
  try {
    parsed = response.json();
  } catch {
    parsed = response.body;
  }
  return { status: response.statusCode, body: parsed, headers: response.headers };
}
