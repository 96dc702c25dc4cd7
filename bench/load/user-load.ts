import { loadavg } from 'node:os';
import { ApiError, createClient, createFetchTransport, TransportError, type Client, type TransportOutcome } from '../../src/client/index.js';
import type { WriteLedger, SimulatorUrls } from '../drain.js';
import type { Monitor } from '../progress.js';
import type { RssTracker } from '../rss.js';
import type { RouteKey } from '../stats.js';
import { EmailSource, leadBody } from '../workload.js';
import type { LoadRun } from './types.js';
import type { MinuteKey } from './minutes.js';
import { scrapeEngine } from './engine-time.js';
import { MeasureWindow, monitorLoad } from './window.js';

// The seed-mix loop as people send it: each virtual user creates a lead, reads it, replaces
// it and reads the PUT's task, pausing a think time between requests (uniform in 0.5-1.5x
// `thinkMs`, users starting at random offsets). autocannon's open loop (`--rate`) cannot
// give this shape: every connection sends one request and waits for its own one-second
// tick, and the ticks of all connections coincide, so the whole second's load arrives as
// one burst; a GET also comes a full second after the write it follows.

export interface UserLoadOptions {
  label: string;
  url: string;
  users: number;
  thinkMs: number;
  warmupS: number;
  durationS: number;
  timeoutS: number;
  emails: EmailSource;
  ledger?: WriteLedger;
  sim?: SimulatorUrls;
  rss?: RssTracker;
  serverProcesses: number;
  /**
   * Runs beside the users until `stopAt` (e.g. the raw client making the same calls without
   * HTTP); what it records lands in the minute-by-minute table of the measured window.
   */
  probe?: (record: (key: MinuteKey, ms: number) => void, stopAt: number) => Promise<void>;
  /** The Temporal server's /metrics: its time per call lands beside each minute (engine-time.ts). */
  engineMetricsUrl?: string;
  /** Random source in [0, 1); Math.random by default. */
  random?: () => number;
}

// The load is the API's plain path: no retries, no Idempotency-Keys.
const noKey = { idempotencyKey: false } as const;

/** A virtual user's client, and the outcome of its latest request (a user sends one request at a time). */
function userClient(origin: string, timeoutS: number): { client: Client; last: () => TransportOutcome } {
  const fetchTransport = createFetchTransport();
  let last: TransportOutcome | undefined;
  const client = createClient({
    baseUrl: origin,
    retry: false,
    timeoutMs: timeoutS * 1000,
    transport: async (request) => (last = await fetchTransport(request)),
  });
  return { client, last: () => last! };
}

export async function runUserLoad(opts: UserLoadOptions): Promise<LoadRun> {
  const random = opts.random ?? Math.random;
  const origin = new URL(opts.url).origin;
  let window = new MeasureWindow(Date.now());
  let phase = opts.warmupS > 0 ? 'warm-up' : 'measure';
  const started = Date.now();
  const measureFrom = started + opts.warmupS * 1000;
  const stopAt = measureFrom + opts.durationS * 1000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const think = () => sleep(opts.thinkMs * (0.5 + random()));

  /** Counts one request's answer (or its failure to get one) on its route. */
  function record(route: RouteKey, outcome: TransportOutcome, ms: number): void {
    if (outcome.kind === 'error') {
      // The fetch transport names a timeout TimeoutError, as fetch itself does.
      const timeout = outcome.code === 'TimeoutError';
      window.routes.get(route)!.failure(timeout);
      window.errors += 1;
      if (timeout) window.timeouts += 1;
      window.errorKinds[outcome.code] = (window.errorKinds[outcome.code] ?? 0) + 1;
      window.second().errors += 1;
      return;
    }
    const { status } = outcome;
    const w = window;
    w.routes.get(route)!.response(status, ms);
    if (status >= 200 && status < 300) w.minutes.answered(route, ms);
    w.all.push(ms);
    w.answered(ms);
    w.statusCounts[String(status)] = (w.statusCounts[String(status)] ?? 0) + 1;
    if (status >= 200 && status < 300) {
      w.ok += 1;
      w.second().ok += 1;
    } else {
      w.non2xx += 1;
    }
    const source = outcome.headers['x-read-source'];
    if (typeof source === 'string') w.readSources[source] = (w.readSources[source] ?? 0) + 1;
  }

  async function user(): Promise<void> {
    const { client, last } = userClient(origin, opts.timeoutS);
    /** One request, counted; its result, or undefined when it got no 2xx. */
    async function send<T>(route: RouteKey, call: () => Promise<T>): Promise<T | undefined> {
      const at = performance.now();
      let result: T | undefined;
      try {
        result = await call();
      } catch (err) {
        if (!(err instanceof ApiError || err instanceof TransportError)) throw err;
      }
      record(route, last(), performance.now() - at);
      return result;
    }

    await sleep(random() * opts.thinkMs);
    while (Date.now() < stopAt) {
      const { email } = opts.emails.next();
      const createMarker = opts.ledger ? opts.ledger.attempt(email, true) : 1;
      const created = await send('create', () => client.leads.create(leadBody(email, createMarker, 'create'), noKey));
      if (typeof created?.id !== 'string') {
        await think();
        continue;
      }
      const id = created.id;
      opts.ledger?.ack(email, createMarker, true, id);
      await think();
      await send('get', () => client.leads.get(id));
      await think();
      const putMarker = opts.ledger ? opts.ledger.attempt(email, false) : 2;
      const put = await send('put', () => client.leads.replace(id, leadBody(email, putMarker, 'replace'), noKey));
      if (put) opts.ledger?.ack(email, putMarker, false);
      await think();
      if (typeof put?.task_id === 'string') {
        await send('task', () => client.tasks.get(put.task_id));
        await think();
      }
    }
  }

  const load = { start: loadavg(), end: [] as number[] };
  const memory = opts.rss ? setInterval(() => window.minutes.sampled(opts.rss!.current()), 5_000) : undefined;
  const engine = opts.engineMetricsUrl ? sampleEngine(opts.engineMetricsUrl, () => window) : undefined;
  let monitor: Monitor | undefined = monitorLoad(opts, () => ({ window, phase }));
  const warmup = setTimeout(() => {
    window = new MeasureWindow(Date.now());
    phase = 'measure';
  }, opts.warmupS * 1000);
  try {
    const probe = opts.probe?.((key, ms) => window.minutes.answered(key, ms), stopAt);
    await Promise.all([...Array.from({ length: opts.users }, () => user()), probe]);
    const durationS = (Math.min(Date.now(), stopAt + opts.timeoutS * 1000) - Math.max(measureFrom, window.startedAt)) / 1000;
    const backlog = monitor.stop();
    monitor = undefined;
    load.end = loadavg();
    return {
      label: opts.label,
      kind: 'http',
      mode: 'open',
      connections: opts.users,
      processes: opts.serverProcesses,
      offeredRate: (opts.users * 1000) / opts.thinkMs,
      warmupS: opts.warmupS,
      ...window.measured(durationS),
      minutes: window.minutes.rows(),
      ...(opts.ledger ? { backlog, createRate: opts.ledger.ackedCreates / ((Date.now() - started) / 1000) } : {}),
      loadavg: load,
    };
  } finally {
    clearTimeout(warmup);
    clearInterval(memory);
    engine?.stop();
    monitor?.stop();
  }
}

/**
 * Scrapes the Temporal server's metrics every 5 s into the current window's minutes (a new
 * window, at the warm-up's end, starts from its own first scrape).
 */
function sampleEngine(url: string, current: () => MeasureWindow): { stop(): void } {
  let busy = false;
  const scrape = async () => {
    if (busy) return;
    busy = true;
    const window = current();
    const snapshot = await scrapeEngine(url);
    if (snapshot && window === current()) window.minutes.engineSampled(snapshot);
    busy = false;
  };
  void scrape();
  const timer = setInterval(() => void scrape(), 5_000);
  return { stop: () => clearInterval(timer) };
}
