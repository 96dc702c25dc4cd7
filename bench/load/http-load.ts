import autocannon from 'autocannon';
import { loadavg } from 'node:os';
import type { WriteLedger } from '../drain.js';
import type { Monitor } from '../progress.js';
import type { RssTracker } from '../rss.js';
import type { SimulatorUrls } from '../drain.js';
import { connectionsFor, type RouteKey } from '../stats.js';
import { EmailSource, leadBody } from '../workload.js';
import type { LoadRun } from './types.js';
import { MeasureWindow, monitorLoad } from './window.js';

// The seed-mix user loop over HTTP with autocannon: each connection creates a lead, reads
// it, replaces it and reads the PUT's task, carrying ids from one response to the next
// request in the connection's context.

export interface HttpLoadOptions {
  label: string;
  url: string;
  connections: number;
  warmupS: number;
  durationS: number;
  /** Open loop: requests per second over all connections (autocannon `overallRate`). */
  overallRate?: number;
  /** Seconds before a request counts as timed out. */
  timeoutS: number;
  emails: EmailSource;
  /** Records every write, for the drain check (omitted for the bare-Fastify ceiling). */
  ledger?: WriteLedger;
  sim?: SimulatorUrls;
  rss?: RssTracker;
  serverProcesses: number;
}

interface Ctx {
  [key: string]: unknown;
  email?: string;
  createMarker?: number;
  id?: string;
  putMarker?: number;
  putTaskId?: string;
}

const isOk = (status: number) => status >= 200 && status < 300;

function parse(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Route of the request a client has in flight (autocannon 8 internals; undefined if they change). */
function inflightRoute(client: autocannon.Client): RouteKey | undefined {
  const iterator = client.requestIterator as { currentRequest?: { benchRoute?: RouteKey } } | undefined;
  return iterator?.currentRequest?.benchRoute;
}

export async function runHttpLoad(opts: HttpLoadOptions): Promise<LoadRun> {
  const { ledger } = opts;
  let window = new MeasureWindow(Date.now());
  let phase = opts.warmupS > 0 ? 'warm-up' : 'measure';
  // onResponse runs right before autocannon's 'response' event for the same answer.
  let answered: RouteKey | undefined;

  const onAnswer = (route: RouteKey) => (status: number) => {
    answered = route;
    if (!isOk(status)) {
      window.non2xx += 1;
      window.statusCounts[String(status)] = (window.statusCounts[String(status)] ?? 0) + 1;
    } else {
      window.ok += 1;
      window.statusCounts[String(status)] = (window.statusCounts[String(status)] ?? 0) + 1;
    }
  };
  const answerCreate = onAnswer('create');
  const answerGet = onAnswer('get');
  const answerPut = onAnswer('put');
  const answerTask = onAnswer('task');
  const json = { 'content-type': 'application/json' };

  const requests: Array<autocannon.Request & { benchRoute: RouteKey }> = [
    {
      benchRoute: 'create',
      method: 'POST',
      path: '/api/leads',
      headers: json,
      setupRequest(request, context) {
        const ctx = context as Ctx;
        const { email } = opts.emails.next();
        ctx.email = email;
        // Until this create's answer names its lead, no read or PUT may go to the previous one.
        ctx.id = undefined;
        ctx.createMarker = ledger ? ledger.attempt(email, true) : 1;
        return { ...request, body: JSON.stringify(leadBody(email, ctx.createMarker, 'create')) };
      },
      onResponse(status, body, context) {
        answerCreate(status);
        const ctx = context as Ctx;
        if (!isOk(status)) return;
        const receipt = parse(body);
        if (typeof receipt?.id === 'string') ctx.id = receipt.id;
        if (ledger && ctx.email) ledger.ack(ctx.email, ctx.createMarker ?? 1, true, ctx.id);
      },
    },
    {
      benchRoute: 'get',
      method: 'GET',
      setupRequest(request, context) {
        const ctx = context as Ctx;
        return ctx.id ? { ...request, path: `/api/leads/${ctx.id}` } : undefined;
      },
      onResponse(status, _body, _context, headers) {
        answerGet(status);
        const source = headers['x-read-source'];
        if (typeof source === 'string') window.readSources[source] = (window.readSources[source] ?? 0) + 1;
      },
    },
    {
      benchRoute: 'put',
      method: 'PUT',
      headers: json,
      setupRequest(request, context) {
        const ctx = context as Ctx;
        if (!ctx.id || !ctx.email) return undefined;
        ctx.putMarker = ledger ? ledger.attempt(ctx.email, false) : 2;
        return { ...request, path: `/api/leads/${ctx.id}`, body: JSON.stringify(leadBody(ctx.email, ctx.putMarker, 'replace')) };
      },
      onResponse(status, body, context) {
        answerPut(status);
        const ctx = context as Ctx;
        if (!isOk(status)) return;
        const receipt = parse(body);
        if (typeof receipt?.task_id === 'string') ctx.putTaskId = receipt.task_id;
        if (ledger && ctx.email) ledger.ack(ctx.email, ctx.putMarker ?? 2, false);
      },
    },
    {
      benchRoute: 'task',
      method: 'GET',
      setupRequest(request, context) {
        const ctx = context as Ctx;
        return ctx.putTaskId ? { ...request, path: `/api/tasks/${ctx.putTaskId}` } : undefined;
      },
      onResponse(status, _body, _context, headers) {
        answerTask(status);
        const source = headers['x-read-source'];
        if (typeof source === 'string') window.readSources[source] = (window.readSources[source] ?? 0) + 1;
      },
    },
  ];

  // Errors and timeouts are attributed to the request that was in flight, and connection
  // resets counted, by listening on each client (autocannon does not report either per request).
  const setupClient = (client: autocannon.Client) => {
    let destroyedRoute: RouteKey | undefined;
    const destroy = client._destroyConnection;
    if (typeof destroy === 'function') {
      client._destroyConnection = function (this: autocannon.Client, ...args: unknown[]) {
        destroyedRoute = inflightRoute(this);
        return (destroy as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
    const connect = client._connect;
    if (typeof connect === 'function') {
      client._connect = function (this: autocannon.Client, ...args: unknown[]) {
        const out = (connect as (...a: unknown[]) => unknown).apply(this, args);
        // autocannon removes its 'end' listeners before closing a connection itself, so an
        // 'end' seen here is the server closing the connection.
        const conn = this.conn as NodeJS.EventEmitter | undefined;
        conn?.on('end', () => {
          window.resets += 1;
          window.errorKinds['server closed connection'] = (window.errorKinds['server closed connection'] ?? 0) + 1;
        });
        return out;
      };
    }
    client.on('connError', (error: Error & { code?: string }) => {
      const route = inflightRoute(client);
      if (route) window.routes.get(route)!.failure(false);
      const kind = error.code ?? error.message;
      window.errorKinds[kind] = (window.errorKinds[kind] ?? 0) + 1;
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') window.resets += 1;
    });
    client.on('timeout', () => {
      if (destroyedRoute) window.routes.get(destroyedRoute)!.failure(true);
      window.errorKinds.timeout = (window.errorKinds.timeout ?? 0) + 1;
    });
  };

  const run = async (durationS: number): Promise<autocannon.Result> => {
    const instance = autocannon({
      url: opts.url,
      connections: opts.connections,
      duration: durationS,
      timeout: opts.timeoutS,
      requests,
      setupClient,
      ...(opts.overallRate ? { overallRate: Math.max(1, Math.round(opts.overallRate)) } : {}),
    });
    instance.on('response', (_client, status, _bytes, responseTime) => {
      const route = answered;
      answered = undefined;
      if (!route) return;
      window.routes.get(route)!.response(status, responseTime);
      window.all.push(responseTime);
      window.answered(responseTime);
      const second = window.second();
      if (isOk(status)) second.ok += 1;
    });
    instance.on('reqError', (error) => {
      window.errors += 1;
      if (error.message === 'request timed out') window.timeouts += 1;
      window.second().errors += 1;
    });
    return await instance;
  };

  const started = Date.now();
  const load = { start: loadavg(), end: [] as number[] };
  let monitor: Monitor | undefined = monitorLoad(opts, () => ({ window, phase }));
  const results: Record<string, autocannon.Result> = {};
  try {
    if (opts.warmupS > 0) {
      results.warmup = await run(opts.warmupS);
      window = new MeasureWindow(Date.now());
      phase = 'measure';
    }
    const measuredFrom = Date.now();
    results.measured = await run(opts.durationS);
    const durationS = (Date.now() - measuredFrom) / 1000;
    const backlog = monitor.stop();
    monitor = undefined;
    load.end = loadavg();
    return {
      label: opts.label,
      kind: 'http',
      mode: opts.overallRate ? 'open' : 'closed',
      // autocannon lowers the connection count to the rate when the rate is smaller.
      connections: connectionsFor(opts.connections, opts.overallRate),
      processes: opts.serverProcesses,
      ...(opts.overallRate ? { offeredRate: opts.overallRate } : {}),
      warmupS: opts.warmupS,
      ...window.measured(durationS),
      ...(ledger ? { backlog, createRate: ledger.ackedCreates / ((Date.now() - started) / 1000) } : {}),
      autocannon: results,
      loadavg: load,
    };
  } finally {
    monitor?.stop();
  }
}
