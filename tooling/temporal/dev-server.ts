/**
 * Runs the official Temporal CLI dev server (`temporal server start-dev`) as a
 * child process, for tests, the local stack runner and benchmarks.
 *
 * The binary itself is installed by `npm run setup` (scripts/ensure-temporal.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '@temporalio/client';
import { LEAD_SEARCH_ATTRIBUTES, type SearchAttributeKind } from '../../src/temporal/search-attributes.js';
import { GRPC_NOT_FOUND, GRPC_UNAVAILABLE, grpcCode } from '../../src/temporal/protocol.js';
import { connectWhenReady } from '../../src/temporal/connection.js';
import { resolveTemporalBinary } from './binary.js';
import { assertPortFree, getFreePort, hostPort } from './ports.js';
import { ensureSearchAttributes } from './search-attributes.js';

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
  /** Port of the server's Prometheus `/metrics`; default: a free port. */
  metricsPort?: number;
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
  /** `--ui-codec-endpoint`: where the Web UI sends encrypted payloads to decode (the API's /codec). */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  /** Frontend gRPC address, `host:port`. */
  address: string;
  /** Namespace the search attributes were registered in. */
  namespace: string;
  /** Web UI URL, unless headless. */
  uiUrl?: string;
  /** The server's own Prometheus metrics. */
  metricsUrl: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev`, waits until the frontend answers, and
 * registers the lead search attributes (also on a pre-existing `dbFile`).
 */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const binary = opts.binary ?? resolveTemporalBinary();
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? LEAD_SEARCH_ATTRIBUTES;
  const { port, uiPort, metricsPort } = await choosePorts(ip, opts);
  const server = launchServer(binary, startDevArgs(opts, { ip, port, uiPort, metricsPort, namespace, searchAttributes }), opts.logFile);
  const address = hostPort(ip, port);
  const earlyExit = () => exitError(server, binary, address);

  try {
    const timeoutMs = opts.startTimeoutMs ?? 30_000;
    const connection = await connectWhenReady(address, timeoutMs, earlyExit);
    try {
      await registerWhenSettled(connection, namespace, searchAttributes, timeoutMs);
    } finally {
      await connection.close();
    }
    const exitedMeanwhile = earlyExit();
    if (exitedMeanwhile) throw exitedMeanwhile;
  } catch (err) {
    await server.stop();
    if (err instanceof Error && !/last server output/.test(err.message)) {
      err.message += server.lastOutput();
    }
    throw err;
  }

  return {
    address,
    namespace,
    ...(uiPort !== undefined ? { uiUrl: `http://${hostPort(ip, uiPort)}` } : {}),
    metricsUrl: `http://${hostPort(ip, metricsPort)}/metrics`,
    process: server.child,
    stop: server.stop,
  };
}

/** The frontend, metrics and (unless headless) UI ports: the ones asked for, else free ones. */
async function choosePorts(ip: string, opts: DevServerOptions): Promise<{ port: number; uiPort: number | undefined; metricsPort: number }> {
  const headless = opts.headless ?? false;
  // An explicit port that is already taken would let the readiness probe talk
  // to whatever else listens there, so check it up front.
  if (opts.port) await assertPortFree(ip, opts.port, 'frontend');
  if (!headless && opts.uiPort) await assertPortFree(ip, opts.uiPort, 'UI');
  if (opts.metricsPort) await assertPortFree(ip, opts.metricsPort, 'metrics');
  const port = opts.port || (await getFreePort(ip));
  const uiPort = headless ? undefined : opts.uiPort || (await getFreePort(ip));
  // Chosen here rather than by the CLI, so the address is known (and printed) up front.
  const metricsPort = opts.metricsPort || (await getFreePort(ip));
  return { port, uiPort, metricsPort };
}

interface ChosenSettings {
  ip: string;
  port: number;
  uiPort: number | undefined;
  metricsPort: number;
  namespace: string;
  searchAttributes: Readonly<Record<string, SearchAttributeKind>>;
}

/** The `temporal server start-dev` arguments for these options. */
function startDevArgs(opts: DevServerOptions, s: ChosenSettings): string[] {
  const args = ['server', 'start-dev', '--ip', s.ip, '--port', String(s.port)];
  if (s.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(s.uiPort));
  if (s.uiPort !== undefined && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  args.push('--metrics-port', String(s.metricsPort));
  if (opts.dbFile) args.push('--db-filename', resolve(opts.dbFile));
  if (s.namespace !== 'default') args.push('--namespace', s.namespace);
  args.push('--log-level', opts.logLevel ?? 'warn');
  for (const [name, kind] of Object.entries(s.searchAttributes)) args.push('--search-attribute', `${name}=${kind}`);
  for (const [key, value] of Object.entries(opts.sqlitePragmas ?? {})) args.push('--sqlite-pragma', `${key}=${value}`);
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  return args;
}

interface ServerProcess {
  child: ChildProcess;
  /** Set once the binary could not be started at all. */
  spawnError(): Error | undefined;
  /** The server's last lines of output, formatted to append to an error message ('' if none). */
  lastOutput(): string;
  /** SIGTERM, then SIGKILL after 10 s; idempotent. */
  stop(): Promise<void>;
}

function launchServer(binary: string, args: string[], logFile: string | undefined): ServerProcess {
  // With a log file the server writes to it directly (keeps working even if
  // this process dies); otherwise keep a short stderr tail for diagnostics.
  let logFd: number | undefined;
  let stderrTail = '';
  if (logFile) logFd = openSync(logFile, 'a');
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
  const lastOutput = (): string => {
    const text = logFile ? tailOfFile(logFile) : stderrTail;
    const lines = text.trimEnd().split('\n').slice(-15).join('\n');
    return lines ? `\n--- last server output ---\n${lines}` : '';
  };
  const stop = createStop(child, () => spawnError !== undefined);
  return { child, spawnError: () => spawnError, lastOutput, stop };
}

/** The server's stop(); until it is called, exiting this process SIGKILLs the server. */
function createStop(child: ChildProcess, failedToSpawn: () => boolean): () => Promise<void> {
  const exited = new Promise<void>((res) => {
    if (hasExited(child)) res();
    else child.once('exit', () => res());
  });

  // Do not leave an orphaned server behind if this process exits without stop().
  const killOnExit = (): void => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (!hasExited(child) && !failedToSpawn()) {
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
}

/** Why the server is not running (could not spawn, or exited), if it is not. */
function exitError(server: ServerProcess, binary: string, address: string): Error | undefined {
  const spawnError = server.spawnError();
  if (spawnError) return new Error(`could not start ${binary}: ${spawnError.message}`);
  const { child } = server;
  if (hasExited(child)) {
    const how = child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
    return new Error(`temporal server start-dev exited early (${how}) while starting on ${address}${server.lastOutput()}`);
  }
  return undefined;
}

async function registerWhenSettled(
  connection: Connection,
  namespace: string,
  searchAttributes: Readonly<Record<string, SearchAttributeKind>>,
  timeoutMs: number,
): Promise<void> {
  // The namespace may still be settling right after the frontend comes up.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await ensureSearchAttributes(connection, namespace, searchAttributes);
      return;
    } catch (err) {
      const code = grpcCode(err);
      const retryable = code === GRPC_NOT_FOUND || code === GRPC_UNAVAILABLE;
      if (!retryable || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
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
