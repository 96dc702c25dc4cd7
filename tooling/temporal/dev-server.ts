/**
 * Runs the official Temporal CLI dev server (`temporal server start-dev`) as a
 * child process, for tests, the local stack runner and benchmarks.
 *
 * The binary itself is installed by `npm run setup` (scripts/ensure-temporal.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, statSync, fstatSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS: a named ESM import of `temporal` fails under
// plain Node, so take the module object and destructure it.
import proto from '@temporalio/proto';
import type { temporal as protoTypes } from '@temporalio/proto';
import { LEAD_SEARCH_ATTRIBUTES, type SearchAttributeKind } from '../../src/temporal/search-attributes.js';
import { GRPC_ALREADY_EXISTS, GRPC_NOT_FOUND, GRPC_UNAVAILABLE, grpcCode } from '../../src/temporal/protocol.js';
import { connectWhenReady } from '../../src/temporal/connection.js';

const { temporal } = proto;
type IndexedValueType = protoTypes.api.enums.v1.IndexedValueType;
const IVT = temporal.api.enums.v1.IndexedValueType;

const PACKAGE_NAME = 'automation-orchestrator';
const EXE = process.platform === 'win32' ? '.exe' : '';

// ---------------------------------------------------------------------------
// Search attributes
// ---------------------------------------------------------------------------

export const INDEXED_VALUE_TYPES: Record<SearchAttributeKind, IndexedValueType> = {
  Text: IVT.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IVT.INDEXED_VALUE_TYPE_INT,
  Double: IVT.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IVT.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IVT.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers the given custom search attributes on `namespace` if they are not
 * there yet. `start-dev --search-attribute` only takes effect when the
 * namespace is created, so a server restarted on an existing `--db-filename`
 * needs this. Idempotent; tolerates concurrent callers adding the same names.
 * Throws if an attribute already exists with a different type.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attrs: Readonly<Record<string, SearchAttributeKind>> = LEAD_SEARCH_ATTRIBUTES,
): Promise<void> {
  const wanted = Object.entries(attrs).map(([name, kind]) => [name, INDEXED_VALUE_TYPES[kind]] as const);

  const missing = async (): Promise<Record<string, IndexedValueType>> => {
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    const existing: Record<string, IndexedValueType> = { ...res.systemAttributes, ...res.customAttributes };
    const out: Record<string, IndexedValueType> = {};
    for (const [name, type] of wanted) {
      const have = existing[name];
      if (have === undefined) out[name] = type;
      else if (have !== type) {
        throw new Error(
          `search attribute ${name} exists in namespace ${namespace} as ${IVT[have]}, expected ${IVT[type]}`,
        );
      }
    }
    return out;
  };

  // A couple of rounds cover the race where another process adds a subset.
  for (let attempt = 0; attempt < 5; attempt++) {
    const toAdd = await missing();
    if (Object.keys(toAdd).length === 0) return;
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: toAdd });
    } catch (err) {
      if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err;
      // Someone else registered (some of) them concurrently: re-check.
    }
  }
  const left = await missing();
  if (Object.keys(left).length > 0) {
    throw new Error(`could not register search attributes ${Object.keys(left).join(', ')} in namespace ${namespace}`);
  }
}

// ---------------------------------------------------------------------------
// Binary resolution
// ---------------------------------------------------------------------------

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    if (process.platform !== 'win32') accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findPackageRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; ) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let cachedRoot: string | null | undefined;

/**
 * The repository root: nearest ancestor holding this project's package.json.
 * Works both from `src/temporal/` (tsx/vitest) and `dist/src/temporal/` (built).
 */
export function repoRoot(): string | undefined {
  if (cachedRoot === undefined) {
    cachedRoot =
      findPackageRoot(dirname(fileURLToPath(import.meta.url))) ?? findPackageRoot(process.cwd()) ?? null;
  }
  return cachedRoot ?? undefined;
}

/**
 * Absolute path of the `temporal` CLI: $TEMPORAL_CLI_PATH, else the path
 * recorded by `npm run setup` in `.tools/temporal-path`, else
 * `.tools/temporal/bin/temporal`, else `temporal` on PATH.
 */
export function resolveTemporalBinary(): string {
  const fromEnv = process.env.TEMPORAL_CLI_PATH?.trim();
  if (fromEnv) {
    const abs = resolve(fromEnv);
    if (!isExecutableFile(abs)) {
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} does not point at an executable file`);
    }
    return abs;
  }

  const root = repoRoot();
  if (root) {
    try {
      const recorded = readFileSync(join(root, '.tools', 'temporal-path'), 'utf8').trim();
      if (recorded && isExecutableFile(recorded)) return recorded;
    } catch {
      // not recorded yet
    }
    const local = join(root, '.tools', 'temporal', 'bin', `temporal${EXE}`);
    if (isExecutableFile(local)) return local;
  }

  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, `temporal${EXE}`);
    if (isExecutableFile(candidate)) return resolve(candidate);
  }

  throw new Error(
    'Temporal CLI not found. Run `npm run setup` (installs it into .tools/), ' +
      'or set TEMPORAL_CLI_PATH to an existing `temporal` binary.',
  );
}

// ---------------------------------------------------------------------------
// Dev server process
// ---------------------------------------------------------------------------

export interface DevServerOptions {
  /** Path of the `temporal` binary; default: {@link resolveTemporalBinary}. */
  binary?: string;
  /** SQLite file for persistent state; omitted = in-memory (state lost on exit). */
  dbFile?: string;
  /** Address the frontend (and UI) bind to; default 127.0.0.1. */
  ip?: string;
  /** Frontend gRPC port; 0 or omitted = pick a free port. */
  port?: number;
  /** Web UI port; default: a free port. Ignored when headless. */
  uiPort?: number;
  /** Disable the Web UI. Default false. */
  headless?: boolean;
  /** Namespace to create and register search attributes in; default 'default'. */
  namespace?: string;
  /** `--sqlite-pragma key=value` pairs, e.g. `{ journal_mode: 'wal', synchronous: 'normal' }`. */
  sqlitePragmas?: Record<string, string>;
  /** `--dynamic-config-value key=<JSON>` pairs. */
  dynamicConfig?: Record<string, unknown>;
  /** Server log level: debug | info | warn | error | never. Default 'warn'. */
  logLevel?: string;
  /** Append server stdout/stderr to this file; default: discarded (last stderr lines kept for errors). */
  logFile?: string;
  /** Custom search attributes to register; default {@link LEAD_SEARCH_ATTRIBUTES}. */
  searchAttributes?: Readonly<Record<string, SearchAttributeKind>>;
  /** How long to wait for the frontend to answer; default 30 s. */
  startTimeoutMs?: number;
}

export interface DevServer {
  /** Frontend gRPC address, `host:port`. */
  address: string;
  /** Namespace the search attributes were registered in. */
  namespace: string;
  /** Web UI URL, unless headless. */
  uiUrl?: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Returns a TCP port that was free a moment ago on `host`. Picked at random below the
 * kernel's ephemeral range (32768+ on Linux), where ports handed out by `listen(0)` and to
 * outgoing connections live: a port taken from that range can be given to someone else
 * (the Temporal server's own internal listeners, say) before our process binds it.
 */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW_PORTS.from + Math.floor(Math.random() * (LOW_PORTS.to - LOW_PORTS.from));
    if (await canBind(host, port)) return port;
  }
  return bindAny(host);
}

const LOW_PORTS = { from: 20_000, to: 32_000 };

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

function bindAny(host: string): Promise<number> {
  return new Promise<number>((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? rej(err) : port ? res(port) : rej(new Error('could not determine a free port'))));
    });
  });
}

/** Rejects with a clear message if `port` cannot be bound on `host` (e.g. already in use). */
async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  await new Promise<void>((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      rej(new Error(`cannot start the Temporal dev server: ${what} port ${hostPort(host, port)} is not available (${err.code ?? err.message})`));
    });
    srv.listen(port, host, () => srv.close(() => res()));
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function tailOfFile(file: string, bytes = 4_096): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(bytes, size);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Starts `temporal server start-dev`, waits until the frontend answers, and
 * registers the lead search attributes (also on a pre-existing `dbFile`).
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const binary = opts.binary ?? resolveTemporalBinary();
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const headless = opts.headless ?? false;
  const searchAttributes = opts.searchAttributes ?? LEAD_SEARCH_ATTRIBUTES;
  // An explicit port that is already taken would let the readiness probe talk
  // to whatever else listens there, so check it up front.
  if (opts.port) await assertPortFree(ip, opts.port, 'frontend');
  if (!headless && opts.uiPort) await assertPortFree(ip, opts.uiPort, 'UI');
  const port = opts.port || (await getFreePort(ip));
  const uiPort = headless ? undefined : opts.uiPort || (await getFreePort(ip));

  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port)];
  if (headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (opts.dbFile) args.push('--db-filename', resolve(opts.dbFile));
  if (namespace !== 'default') args.push('--namespace', namespace);
  args.push('--log-level', opts.logLevel ?? 'warn');
  for (const [name, kind] of Object.entries(searchAttributes)) args.push('--search-attribute', `${name}=${kind}`);
  for (const [key, value] of Object.entries(opts.sqlitePragmas ?? {})) args.push('--sqlite-pragma', `${key}=${value}`);
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }

  // With a log file the server writes to it directly (keeps working even if
  // this process dies); otherwise keep a short stderr tail for diagnostics.
  let logFd: number | undefined;
  let stderrTail = '';
  if (opts.logFile) logFd = openSync(opts.logFile, 'a');
  const child = spawn(binary, args, {
    stdio: logFd !== undefined ? ['ignore', logFd, logFd] : ['ignore', 'ignore', 'pipe'],
    windowsHide: true,
  });
  if (logFd !== undefined) closeSync(logFd);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-8_192);
  });

  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const exited = new Promise<void>((res) => {
    if (hasExited(child)) res();
    else child.once('exit', () => res());
  });

  // Do not leave an orphaned server behind if this process exits without stop().
  const killOnExit = (): void => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const lastOutput = (): string => {
    const text = opts.logFile ? tailOfFile(opts.logFile) : stderrTail;
    const lines = text.trimEnd().split('\n').slice(-15).join('\n');
    return lines ? `\n--- last server output ---\n${lines}` : '';
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!hasExited(child) && !spawnError) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (!hasExited(child)) child.kill('SIGKILL');
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  const address = hostPort(ip, port);
  const earlyExit = (): Error | undefined => {
    if (spawnError) return new Error(`could not start ${binary}: ${spawnError.message}`);
    if (hasExited(child)) {
      const how = child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
      return new Error(`temporal server start-dev exited early (${how}) while starting on ${address}${lastOutput()}`);
    }
    return undefined;
  };

  try {
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    const connection = await connectWhenReady(address, timeoutMs, earlyExit);
    try {
      // The namespace may still be settling right after the frontend comes up.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await ensureSearchAttributes(connection, namespace, searchAttributes);
          break;
        } catch (err) {
          const code = grpcCode(err);
          const retryable = code === GRPC_NOT_FOUND || code === GRPC_UNAVAILABLE;
          if (!retryable || Date.now() > deadline) throw err;
          await sleep(200);
        }
      }
    } finally {
      await connection.close();
    }
    const exitedMeanwhile = earlyExit();
    if (exitedMeanwhile) throw exitedMeanwhile;
  } catch (err) {
    await stop();
    if (err instanceof Error && !/last server output/.test(err.message)) {
      err.message += lastOutput();
    }
    throw err;
  }

  return {
    address,
    namespace,
    ...(uiPort !== undefined ? { uiUrl: `http://${hostPort(ip, uiPort)}` } : {}),
    process: child,
    stop,
  };
}
