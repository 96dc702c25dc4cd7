import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import { startDevServer, type DevServer, type DevServerOptions } from '../temporal/dev-server.js';
import { prefixer, startChild, type ManagedChild } from './supervisor.js';

// The whole stack on one machine: Temporal dev server (SQLite file), CRM simulator,
// SMTP sink, supervised worker process(es) and the API process(es).

const DIST = fileURLToPath(new URL('../..', import.meta.url)); // dist/ (or the repo root under tsx)
const script = (path: string) => resolve(DIST, path);

export interface RunningStack {
  temporal?: DevServer;
  temporalAddress: string;
  apiUrl: string;
  uiUrl?: string;
  crmUrl: string;
  smtpMessagesUrl?: string;
  workers: ManagedChild[];
  api: ManagedChild;
  children: ManagedChild[];
  /**
   * Fault tests: kills the Temporal dev server (SIGKILL unless told otherwise), waits
   * `downtimeMs`, and starts a new one on the same SQLite file and address, so the API
   * and the workers reconnect to it. `temporal` then refers to the new server.
   */
  restartTemporal(options?: TemporalRestartOptions): Promise<TemporalRestart>;
  stop(): Promise<void>;
}

export interface TemporalRestartOptions {
  signal?: NodeJS.Signals;
  downtimeMs?: number;
}

export interface TemporalRestart {
  /** When the signal was sent and when the new server answered (epoch ms). */
  stoppedAt: number;
  readyAt: number;
}

/**
 * SQLite in write-ahead-log mode with every commit still fsynced: faster raw writes than
 * SQLite's defaults (rollback journal) on the machine here, with the same durability
 * (bench/results/*-tune.md: 13.9 vs 5.3 writes/s, measured under uneven load; 16.0 vs 14.8
 * in a later pair of runs). synchronous=NORMAL was faster still but can lose the last
 * commits on an OS crash, so it is not the default.
 */
export const DURABLE_WAL: Readonly<Record<string, string>> = { journal_mode: 'wal', synchronous: 'full' };

/**
 * Dev-server settings the stack adds to the CLI's (measured with `npm run bench -- ab`, see
 * the README's performance section). The CLI turns on a forced refresh of the
 * search-attribute cache on every read, for dev servers whose attributes change under them;
 * ours are registered before the first write, so every start, upsert and list would re-read
 * cluster metadata from SQLite for nothing. One partition per task queue: on one process
 * several partitions only split the pollers, so fewer tasks meet a waiting poller and more
 * go through the database.
 */
export const DEV_SERVER_TUNING: Readonly<Record<string, unknown>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

export interface StackOptions {
  /** Called when a child that must not die exits unexpectedly. */
  onFatal?: (message: string) => void;
  /** Extra env for every child (tests use it for short retry intervals). */
  env?: NodeJS.ProcessEnv;
  /** Where the Temporal dev server's own log goes; default: temporal.log next to its database. */
  temporalLogFile?: string;
  /** Default {@link DURABLE_WAL}; pass `{}` for SQLite's own defaults. */
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, unknown>;
}

/** Restarts of a dev server that died on its own: the delay before each try, then give up. */
export const TEMPORAL_RESTART_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15_000];
/** A dev server that dies this many times within CRASH_WINDOW_MS is not restarted again. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 5 * 60_000;

export async function startStack(config: Config, options: StackOptions = {}): Promise<RunningStack> {
  const children: ManagedChild[] = [];
  let temporal: DevServer | undefined;
  let temporalOptions: DevServerOptions | undefined;
  let restarting: Promise<unknown> = Promise.resolve();
  let stopping = false;
  // Servers this stack itself is stopping (fault injection): their exit is not a crash.
  const retiring = new WeakSet<DevServer>();
  const crashes: number[] = [];
  const fatal = options.onFatal ?? ((m: string) => console.error(m));
  const say = prefixer('stack');

  /**
   * The dev server is a child of the stack like the workers: when it exits without being
   * asked to, it is started again on the same SQLite file and port (state and address
   * unchanged, so the API and the workers reconnect by themselves), with a line each time,
   * and the stack gives up loudly when it keeps dying or cannot be started.
   */
  const superviseTemporal = (server: DevServer) => {
    server.process.once('exit', (code, signal) => {
      if (stopping || retiring.has(server) || server !== temporal) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length >= MAX_CRASHES) {
        fatal(`Temporal dev server exited unexpectedly (${how}), the ${crashes.length}th time in ${CRASH_WINDOW_MS / 60_000} minutes; not restarting it`);
        return;
      }
      restarting = restartAfterCrash(how);
    });
  };

  const restartAfterCrash = async (exit: string) => {
    let how = exit;
    const attempts = TEMPORAL_RESTART_DELAYS_MS.length;
    for (const [i, delay] of TEMPORAL_RESTART_DELAYS_MS.entries()) {
      if (stopping) return;
      say(`Temporal dev server exited unexpectedly (${how}); restarting it on the same file and port in ${delay} ms (try ${i + 1} of ${attempts})`);
      await new Promise((r) => setTimeout(r, delay));
      if (stopping) return;
      const started = Date.now();
      try {
        temporal = await startDevServer(temporalOptions!);
        superviseTemporal(temporal);
        say(`Temporal dev server is back on ${config.TEMPORAL_ADDRESS} (ready in ${Date.now() - started} ms)`);
        return;
      } catch (err) {
        how = `restart failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    fatal(`Temporal dev server could not be restarted after ${attempts} tries (${how})`);
  };

  const stop = async () => {
    stopping = true;
    // Reverse order: API first (stop taking writes), then workers, fakes, Temporal last.
    for (const child of children) child.markStopping();
    for (const child of [...children].reverse()) await child.stop();
    await restarting.catch(() => undefined);
    await temporal?.stop();
  };

  const restartTemporal = async ({ signal = 'SIGKILL', downtimeMs = 0 }: TemporalRestartOptions = {}) => {
    const old = temporal;
    if (!old || !temporalOptions) throw new Error('this stack did not start a Temporal dev server');
    const run = (async (): Promise<TemporalRestart> => {
      const stoppedAt = Date.now();
      say(`Temporal dev server: ${signal} (fault injection), back in ${downtimeMs} ms …`);
      retiring.add(old);
      old.process.kill(signal);
      await old.stop(); // waits for the exit (and escalates to SIGKILL after 10 s)
      if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
      temporal = await startDevServer(temporalOptions!);
      superviseTemporal(temporal);
      const readyAt = Date.now();
      say(`Temporal dev server back after ${readyAt - stoppedAt} ms`);
      return { stoppedAt, readyAt };
    })();
    restarting = run;
    return run;
  };

  try {
    const [host, portText] = splitAddress(config.TEMPORAL_ADDRESS);
    if (config.TEMPORAL_START_DEV_SERVER) {
      const dbFile = resolve(config.TEMPORAL_DB_FILE);
      mkdirSync(dirname(dbFile), { recursive: true });
      say(`starting Temporal dev server on ${config.TEMPORAL_ADDRESS} (state in ${dbFile}) …`);
      const started = Date.now();
      temporalOptions = {
        dbFile,
        ip: host,
        port: Number(portText),
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        logFile: options.temporalLogFile ?? resolve(dirname(dbFile), 'temporal.log'),
        sqlitePragmas: options.sqlitePragmas ?? DURABLE_WAL,
        dynamicConfig: { ...DEV_SERVER_TUNING, ...options.dynamicConfig },
        startTimeoutMs: 60_000,
      };
      temporal = await startDevServer(temporalOptions);
      superviseTemporal(temporal);
      say(`Temporal ready in ${Date.now() - started} ms`);
    }

    const env = { ...options.env };
    const node = process.execPath;
    const crm = new URL(config.CRM_BASE_URL);
    if (config.CRM_START_SIMULATOR) {
      children.push(
        await startChild(
          {
            name: 'crm-sim',
            command: node,
            args: [script('tooling/simulators/main.js'), 'crm'],
            env: { ...env, CRM_SIM_HOST: crm.hostname, CRM_SIM_PORT: crm.port || '80' },
            readyWhen: /listening on/,
          },
          fatal,
        ),
      );
    }
    if (config.SMTP_START_SINK) {
      children.push(
        await startChild(
          {
            name: 'smtp',
            command: node,
            args: [script('tooling/simulators/main.js'), 'smtp'],
            env: {
              ...env,
              SMTP_SINK_HOST: config.SMTP_HOST,
              SMTP_SINK_PORT: String(config.SMTP_PORT),
              SMTP_SINK_HTTP_PORT: String(config.SMTP_SINK_HTTP_PORT),
            },
            readyWhen: /listening on/,
          },
          fatal,
        ),
      );
    }

    const workers: ManagedChild[] = [];
    for (let i = 1; i <= config.WORKER_PROCESSES; i++) {
      const worker = await startChild(
        {
          name: config.WORKER_PROCESSES > 1 ? `worker${i}` : 'worker',
          command: node,
          args: [script('worker/main.js')],
          env,
          readyWhen: /worker: polling/,
          restart: true,
          readyTimeoutMs: 180_000,
        },
        fatal,
      );
      workers.push(worker);
      children.push(worker);
    }

    const api = await startChild(
      {
        name: 'api',
        command: node,
        args: [script('src/api/server.js')],
        env,
        readyWhen: /api: listening on/,
      },
      fatal,
    );
    children.push(api);

    return {
      get temporal() {
        return temporal;
      },
      temporalAddress: config.TEMPORAL_ADDRESS,
      apiUrl: `http://${config.HOST}:${config.PORT}`,
      uiUrl: temporal?.uiUrl,
      crmUrl: config.CRM_BASE_URL,
      smtpMessagesUrl: config.SMTP_START_SINK ? `http://${config.SMTP_HOST}:${config.SMTP_SINK_HTTP_PORT}/messages` : undefined,
      workers,
      api,
      children,
      restartTemporal,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function splitAddress(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), address.slice(index + 1)];
}
