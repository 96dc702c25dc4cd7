import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostSpec } from './topology.js';

/**
 * A process on one of the cluster's test hosts (`ip netns exec <host> …`, which execs,
 * so the pid is the program's own). Its output goes to `<logDir>/<name>.log`, not the
 * terminal: a cluster prints a lot, and the log is where an operator looks after a fault.
 */

export interface HostProcess {
  name: string;
  host: HostSpec;
  logFile: string;
  readonly pid: number | undefined;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface LaunchSpec {
  name: string;
  host: HostSpec;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logDir: string;
  /** Run as this user (setpriv, which execs: the pid stays the program's). */
  user?: string;
}

export function launchOnHost(spec: LaunchSpec): HostProcess {
  const logFile = join(spec.logDir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  log.write(`--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
  const asUser = spec.user ? ['setpriv', `--reuid=${spec.user}`, `--regid=${spec.user}`, '--init-groups', '--'] : [];
  const child: ChildProcess = spawn('ip', ['netns', 'exec', spec.host.ns, ...asUser, spec.command, ...spec.args], {
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? String(code)));
    child.on('error', (err) => resolve(`error: ${err.message}`));
  });
  void exited.then(() => setTimeout(() => log.end(), 500));
  return {
    name: spec.name,
    host: spec.host,
    logFile,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    exited,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True once something accepts TCP connections at host:port. */
export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it holds. Fails at once, naming the log, when `process` exits first,
 * and after `timeoutMs` otherwise.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  process?: HostProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: string | undefined;
  void process?.exited.then((how) => (gone = how));
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`${what}: ${process!.name} exited (${gone}) before it was ready; see ${process!.logFile}`);
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what}: not ready within ${timeoutMs / 1000} s${process ? `; see ${process.logFile}` : ''}`);
}
