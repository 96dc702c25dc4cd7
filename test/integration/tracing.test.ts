import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import { startTracing } from '../../src/tracing/tracing.js';
import { eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Issue #10 item 6: one trace from the HTTP request through the workflow to the CRM call,
// exported over OTLP/HTTP to a receiver this test runs; and nothing of it when tracing is off.

// Batches every 200 ms instead of 5 s, so spans arrive while the test waits.
process.env.OTEL_BSP_SCHEDULE_DELAY = '200';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}

interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  posts: number;
  close(): Promise<void>;
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.boolValue ?? value.doubleValue;
  }
  return out;
}

/** An OTLP/HTTP receiver for JSON bodies (what @opentelemetry/exporter-trace-otlp-http sends). */
async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = { url: '', spans: [], posts: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      receiver.posts += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            receiver.spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: attributes(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}

interface Stack {
  harness: Harness;
  baseUrl: string;
  closeApi(): Promise<void>;
}

/** The API as server.ts builds it (buildApiFromConfig, so its tracing too) and the workers, from one env. */
async function startStack(env: Record<string, string>): Promise<Stack> {
  const harness = await startHarness(env);
  const api = await buildApiFromConfig(harness.config);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  await harness.startWorker();
  return { harness, baseUrl: `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`, closeApi: api.close };
}

async function send(stack: Stack, method: 'POST' | 'PATCH' | 'GET', path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function taskCompleted(stack: Stack, taskId: string): Promise<void> {
  await eventually(async () => ((await send(stack, 'GET', `/api/tasks/${taskId}`)).status === 'completed' ? true : undefined), {
    what: `task ${taskId} to complete`,
  });
}

describe('tracing off (the default)', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({});
  });
  afterAll(async () => {
    await stack?.closeApi();
    await stack?.harness.close();
    await receiver?.close();
  });

  it('sends nothing: a lead goes through API, workflow and CRM with no request to the receiver', async () => {
    expect(stack.harness.tracing).toBeUndefined();
    const created = await send(stack, 'POST', '/api/leads', { email: uniqueEmail('untraced') });
    await taskCompleted(stack, created.task_id);
    // Longer than a batch delay: a stray exporter would have sent by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.posts).toBe(0);
  });

  it('loads no OpenTelemetry module: the API and the workers above ran without one', async () => {
    // This file's first tests ran in a fresh process (vitest isolates files), and OpenTelemetry's
    // packages are CommonJS, so whatever of them was loaded is in the module cache. The API
    // facade (@opentelemetry/api, no-op without an SDK) is left out: prom-client loads it
    // when it is installed, for exemplars.
    const sdk = /[\\/]@opentelemetry[\\/](?!api[\\/])|[\\/]interceptors-opentelemetry[\\/]/;
    const otelModules = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => sdk.test(k));
    expect(otelModules()).toEqual([]);
    // The control: starting tracing is what loads them.
    const tracing = await startTracing(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }), 'control');
    await tracing?.shutdown();
    expect(otelModules().length).toBeGreaterThan(0);
  });
});

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // A short history limit, so the lead's first run continues as new and ends its workflow span.
    stack = await startStack({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, CONTINUE_AS_NEW_AFTER_EVENTS: '100' });
  });
  afterAll(async () => {
    await stack?.closeApi();
    await stack?.harness.close();
    await receiver?.close();
  });

  it('links the HTTP request, the workflow start, the workflow, the CRM activity and the CRM request in one trace', async () => {
    const created = await send(stack, 'POST', '/api/leads', { email: uniqueEmail('traced'), company: 'v0' });
    await taskCompleted(stack, created.task_id);

    const byName = (name: string, parent?: ReceivedSpan) =>
      receiver.spans.find((s) => s.name === name && (parent === undefined || s.parentSpanId === parent.spanId));

    const server = await eventually(async () => byName('POST /api/leads'), { what: 'the server span' });
    expect(server).toMatchObject({ service: 'ao-api', kind: 2, parentSpanId: undefined });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/api/leads', 'http.response.status_code': 202 });

    const start = await eventually(async () => byName('SignalWithStartWorkflow:leadWorkflow', server), { what: 'the workflow start span' });
    expect(start).toMatchObject({ service: 'ao-api', traceId: server.traceId });

    // The workflow's own span ends when its run does: change the lead until the run continues as new.
    let patches = 0;
    const run = await eventually(
      async () => {
        const found = byName('RunWorkflow:leadWorkflow', start);
        if (found) return found;
        patches += 1;
        await send(stack, 'PATCH', `/api/leads/${created.id}`, { company: `v${patches}` });
        return undefined;
      },
      { what: 'the workflow run span (continue-as-new)', timeoutMs: 60_000, intervalMs: 300 },
    );
    expect(run).toMatchObject({ service: 'ao-worker', traceId: server.traceId });

    const startActivity = await eventually(async () => byName('StartActivity:syncLeadToCrm', run), { what: 'the activity start span' });
    const runActivity = await eventually(async () => byName('RunActivity:syncLeadToCrm', startActivity), { what: 'the activity span' });
    const crmCall = await eventually(async () => byName('PUT', runActivity), { what: 'the CRM request span' });
    for (const span of [startActivity, runActivity, crmCall]) expect(span).toMatchObject({ service: 'ao-worker', traceId: server.traceId });
    expect(crmCall.kind).toBe(3);
    expect(crmCall.attributes).toMatchObject({
      'http.request.method': 'PUT',
      'url.full': `${stack.harness.crm.url}/contacts/${created.id}`,
      'http.response.status_code': 201,
    });

    // A later write is its own trace, from its request through the signal into the workflow.
    expect(patches).toBeGreaterThan(0);
    const patchServer = await eventually(async () => byName('PATCH /api/leads/:id'), { what: 'a PATCH server span' });
    expect(patchServer.service).toBe('ao-api');
    const signal = await eventually(async () => byName('SignalWorkflow:leadChange', patchServer), { what: 'its signal span' });
    expect(signal.traceId).toBe(patchServer.traceId);
    expect(patchServer.traceId).not.toBe(server.traceId);
  });
});
