import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// Runs the stack's child processes: prefixes their output, waits for the line that says
// a process is up, restarts the ones that should never stay down (with backoff), and
// stops them in order. The TS worker exits when Temporal is unreachable for about a
// minute, so it must be supervised rather than started once.

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** A line on stdout/stderr that means "ready". */
  readyWhen: RegExp;
  /** Restart after an unexpected exit (with backoff), instead of failing the stack. */
  restart?: boolean;
  readyTimeoutMs?: number;
  /** Uptime after which an exit starts the restart backoff again (default STABLE_AFTER_MS). */
  stableAfterMs?: number;
}

export interface ManagedChild {
  name: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  /** From now on an exit is expected (Ctrl-C reaches every process of the group at once). */
  markStopping(): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** For fault tests: SIGKILL the current process (a supervised one comes back). */
  kill(): void;
}

/** A process that stayed up this long before it exited starts its restart backoff again. */
export const STABLE_AFTER_MS = 30_000;

/**
 * The wait before the n-th restart in a row (n ≥ 1): 0.5 s doubling to 30 s. Counted per
 * run of crashes, not over the stack's life: a worker killed now and then, each time after
 * running fine for minutes, comes back in half a second, not in the 30 s a crash loop earns.
 */
export function restartDelay(inARow: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(Math.max(inARow, 1) - 1, 6));
}

export class StartupError extends Error {
  override name = 'StartupError';
}

const color = (code: number) => (s: string) => (process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s);
const COLORS = [36, 35, 33, 32, 34, 31].map(color);
let nextColor = 0;

export function prefixer(name: string): (line: string) => void {
  const paint = COLORS[nextColor++ % COLORS.length]!;
  const label = paint(name.padEnd(8));
  return (line) => process.stdout.write(`${label} | ${line}\n`);
}

/** Starts a child and resolves once it printed its ready line; rejects if it exits first. */
export async function startChild(spec: ChildSpec, onUnexpectedExit: (message: string) => void): Promise<ManagedChild> {
  const print = prefixer(spec.name);
  let current: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let inARow = 0;
  let exited: Promise<void> = Promise.resolve();

  const launch = (onReady?: () => void, onEarlyExit?: (why: string) => void) => {
    const child = spawn(spec.command, spec.args, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = child;
    const startedAt = Date.now();
    const recent: string[] = [];
    let ready = false;
    const onLine = (line: string) => {
      print(line);
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (!ready && spec.readyWhen.test(line)) {
        ready = true;
        onReady?.();
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    exited = new Promise((resolve) => {
      // 'exit' can come before the last lines of output were read: wait for the pipes to
      // close (bounded, a grandchild may hold them) so an early exit reports its reason.
      const drained = new Promise<void>((done) => {
        child.once('close', () => done());
        child.once('exit', () => setTimeout(done, 500).unref());
      });
      child.on('exit', async (code, signal) => {
        await drained;
        resolve();
        if (stopping) return;
        const why = `${spec.name} exited (${signal ?? `code ${code}`})`;
        if (!ready) {
          onEarlyExit?.(`${why} before it was ready:\n${recent.map((l) => `    ${l}`).join('\n')}`);
          if (!onEarlyExit && spec.restart) scheduleRestart(why, Date.now() - startedAt);
          return;
        }
        if (spec.restart) scheduleRestart(why, Date.now() - startedAt);
        else onUnexpectedExit(why);
      });
    });
  };

  const scheduleRestart = (why: string, upMs: number) => {
    restarts += 1;
    inARow = upMs >= (spec.stableAfterMs ?? STABLE_AFTER_MS) ? 1 : inARow + 1;
    const delay = restartDelay(inARow);
    print(`${why}; restarting in ${delay} ms (restart #${restarts})`);
    setTimeout(() => {
      if (!stopping) launch();
    }, delay).unref();
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new StartupError(`${spec.name} did not become ready within ${spec.readyTimeoutMs ?? 60_000} ms`));
    }, spec.readyTimeoutMs ?? 60_000);
    launch(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (why) => {
        clearTimeout(timer);
        reject(new StartupError(why));
      },
    );
  }).catch(async (err: unknown) => {
    stopping = true;
    current?.kill('SIGKILL');
    await exited;
    throw err;
  });

  return {
    name: spec.name,
    get pid() {
      return current?.pid;
    },
    get restarts() {
      return restarts;
    },
    markStopping() {
      stopping = true;
    },
    async stop(graceMs = 10_000) {
      stopping = true;
      const child = current;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill() {
      current?.kill('SIGKILL');
    },
  };
}
