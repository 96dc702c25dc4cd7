import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How long an exited child's pipes may stay open with no new line before its output is taken as read. */
const PIPE_DRAIN_MS = 2000;

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
  const child = new SupervisedChild(spec, onUnexpectedExit);
  await child.start();
  return child;
}

/** How the first launch reports back to start(); later launches (restarts) have none. */
interface Startup {
  onReady(): void;
  onEarlyExit(why: string): void;
}

interface OutputWatch {
  /** The last lines printed, for the reason of an early exit. */
  recent: string[];
  /** When the last line came (epoch ms), or when watching started. */
  lastLineAt(): number;
  isReady(): boolean;
  /** Resolves once every line of stdout and stderr has been handled. */
  read: Promise<void>;
}

class SupervisedChild implements ManagedChild {
  readonly name: string;
  private readonly print: (line: string) => void;
  private current: ChildProcess | undefined;
  private stopping = false;
  private restartCount = 0;
  private inARow = 0;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: ChildSpec,
    private readonly onUnexpectedExit: (message: string) => void,
  ) {
    this.name = spec.name;
    this.print = prefixer(spec.name);
  }

  get pid(): number | undefined {
    return this.current?.pid;
  }

  get restarts(): number {
    return this.restartCount;
  }

  /** Launches the first process; resolves at its ready line, else kills it and rejects. */
  async start(): Promise<void> {
    const timeoutMs = this.spec.readyTimeoutMs ?? 60_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StartupError(`${this.spec.name} did not become ready within ${timeoutMs} ms`));
      }, timeoutMs);
      this.launch({
        onReady: () => {
          clearTimeout(timer);
          resolve();
        },
        onEarlyExit: (why) => {
          clearTimeout(timer);
          reject(new StartupError(why));
        },
      });
    }).catch(async (err: unknown) => {
      this.stopping = true;
      this.current?.kill('SIGKILL');
      await this.exited;
      throw err;
    });
  }

  markStopping(): void {
    this.stopping = true;
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const child = this.current;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.current?.kill('SIGKILL');
  }

  private launch(startup?: Startup): void {
    const child = spawn(this.spec.command, this.spec.args, {
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.current = child;
    const startedAt = Date.now();
    const output = this.watchOutput(child, startup?.onReady);
    this.exited = new Promise((resolve) => {
      // 'exit' can come before the last lines of output were read: wait for the pipes to
      // close so an early exit reports its reason. A grandchild may hold them open, so give
      // up once no line has come for PIPE_DRAIN_MS: a fixed bound from the exit (0.5 s, then
      // 2 s) lost the reason line on loaded CI runs, while lines were still arriving.
      const drained = new Promise<void>((done) => {
        void output.read.then(() => done());
        child.once('exit', () => {
          const timer = setInterval(() => {
            if (Date.now() - output.lastLineAt() < PIPE_DRAIN_MS) return;
            clearInterval(timer);
            done();
          }, 100).unref();
          void output.read.then(() => clearInterval(timer));
        });
      });
      child.on('exit', async (code, signal) => {
        await drained;
        resolve();
        if (this.stopping) return;
        const why = `${this.spec.name} exited (${signal ?? `code ${code}`})`;
        this.afterExit(why, Date.now() - startedAt, output, startup?.onEarlyExit);
      });
    });
  }

  /** Prints every line of the child's output and calls onReady at the first ready line. */
  private watchOutput(child: ChildProcess, onReady?: () => void): OutputWatch {
    const recent: string[] = [];
    let ready = false;
    let lastLineAt = Date.now();
    const onLine = (line: string) => {
      lastLineAt = Date.now();
      this.print(line);
      recent.push(line);
      if (recent.length > 20) recent.shift();
      if (!ready && this.spec.readyWhen.test(line)) {
        ready = true;
        onReady?.();
      }
    };
    // Each reader's 'close' comes after its last 'line': only then is the output all read
    // (the child's own 'close' can come first).
    const readers = [child.stdout!, child.stderr!].map((input) => {
      const reader = createInterface({ input }).on('line', onLine);
      return new Promise<void>((done) => reader.once('close', () => done()));
    });
    return { recent, lastLineAt: () => lastLineAt, isReady: () => ready, read: Promise.all(readers).then(() => undefined) };
  }

  /** An exit nobody asked for: fail the start, restart, or report it. */
  private afterExit(why: string, upMs: number, output: OutputWatch, onEarlyExit?: (why: string) => void): void {
    if (!output.isReady()) {
      onEarlyExit?.(`${why} before it was ready:\n${output.recent.map((l) => `    ${l}`).join('\n')}`);
      if (!onEarlyExit && this.spec.restart) this.scheduleRestart(why, upMs);
      return;
    }
    if (this.spec.restart) this.scheduleRestart(why, upMs);
    else this.onUnexpectedExit(why);
  }

  private scheduleRestart(why: string, upMs: number): void {
    this.restartCount += 1;
    this.inARow = upMs >= (this.spec.stableAfterMs ?? STABLE_AFTER_MS) ? 1 : this.inARow + 1;
    const delay = restartDelay(this.inARow);
    this.print(`${why}; restarting in ${delay} ms (restart #${this.restartCount})`);
    setTimeout(() => {
      if (!this.stopping) this.launch();
    }, delay).unref();
  }
}
