import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { startDevServer, type DevServer } from '../temporal/dev-server.js';
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
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Called when a child that must not die exits unexpectedly. */
  onFatal?: (message: string) => void;
  /** Extra env for every child (tests use it for short retry intervals). */
  env?: NodeJS.ProcessEnv;
  /** Keep the Temporal dev server quiet unless told otherwise. */
  temporalLogFile?: string;
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, unknown>;
}

export async function startStack(config: Config, options: StackOptions = {}): Promise<RunningStack> {
  const children: ManagedChild[] = [];
  let temporal: DevServer | undefined;
  const fatal = options.onFatal ?? ((m: string) => console.error(m));
  const say = prefixer('stack');

  const stop = async () => {
    // Reverse order: API first (stop taking writes), then workers, fakes, Temporal last.
    for (const child of children) child.markStopping();
    for (const child of [...children].reverse()) await child.stop();
    await temporal?.stop();
  };

  try {
    const [host, portText] = splitAddress(config.TEMPORAL_ADDRESS);
    if (config.TEMPORAL_START_DEV_SERVER) {
      const dbFile = resolve(config.TEMPORAL_DB_FILE);
      mkdirSync(dirname(dbFile), { recursive: true });
      say(`starting Temporal dev server on ${config.TEMPORAL_ADDRESS} (state in ${dbFile}) …`);
      const started = Date.now();
      temporal = await startDevServer({
        dbFile,
        ip: host,
        port: Number(portText),
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        logFile: options.temporalLogFile,
        sqlitePragmas: options.sqlitePragmas,
        dynamicConfig: options.dynamicConfig,
        startTimeoutMs: 60_000,
      });
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
            args: [script('src/simulators/main.js'), 'crm'],
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
            args: [script('src/simulators/main.js'), 'smtp'],
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
      temporal,
      temporalAddress: config.TEMPORAL_ADDRESS,
      apiUrl: `http://${config.HOST}:${config.PORT}`,
      uiUrl: temporal?.uiUrl,
      crmUrl: config.CRM_BASE_URL,
      smtpMessagesUrl: config.SMTP_START_SINK ? `http://${config.SMTP_HOST}:${config.SMTP_SINK_HTTP_PORT}/messages` : undefined,
      workers,
      api,
      children,
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
