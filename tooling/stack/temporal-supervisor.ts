import { startDevServer, type DevServer, type DevServerOptions } from '../temporal/dev-server.js';

/**
 * The dev server is a child of the stack like the workers: when it exits without being
 * asked to, it is started again on the same SQLite file and port (state and address
 * unchanged, so the API and the workers reconnect by themselves), with a line each time,
 * and the stack gives up loudly when it keeps dying or cannot be started.
 */

export interface TemporalRestartOptions {
  signal?: NodeJS.Signals;
  downtimeMs?: number;
}

export interface TemporalRestart {
  /** When the signal was sent and when the new server answered (epoch ms). */
  stoppedAt: number;
  readyAt: number;
}

export interface SupervisedTemporal {
  /** The server running now (a new one after each restart). */
  readonly server: DevServer;
  /** Fault injection: kill the server, wait `downtimeMs`, start a new one on the same file and address. */
  restart(options?: TemporalRestartOptions): Promise<TemporalRestart>;
  /** From now on an exit is expected and nothing is restarted. */
  markStopping(): void;
  /** Waits for a restart under way, then stops the server. */
  stop(): Promise<void>;
}

export interface TemporalSupervision {
  /** Where the server listens, for the log lines. */
  address: string;
  say: (line: string) => void;
  fatal: (message: string) => void;
}

/** Restarts of a dev server that died on its own: the delay before each try, then give up. */
export const TEMPORAL_RESTART_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15_000];
/** A dev server that dies this many times within CRASH_WINDOW_MS is not restarted again. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 5 * 60_000;

/** Starts the dev server and keeps it running (see above). */
export async function startSupervisedTemporal(options: DevServerOptions, hooks: TemporalSupervision): Promise<SupervisedTemporal> {
  return new TemporalSupervisor(options, hooks, await startDevServer(options));
}

class TemporalSupervisor implements SupervisedTemporal {
  private restarting: Promise<unknown> = Promise.resolve();
  private stopping = false;
  // Servers this stack itself is stopping (fault injection): their exit is not a crash.
  private readonly retiring = new WeakSet<DevServer>();
  private readonly crashes: number[] = [];

  constructor(
    private readonly options: DevServerOptions,
    private readonly hooks: TemporalSupervision,
    public server: DevServer,
  ) {
    this.watch(server);
  }

  private watch(server: DevServer): void {
    server.process.once('exit', (code, signal) => {
      if (this.stopping || this.retiring.has(server) || server !== this.server) return;
      this.onCrash(signal ? `signal ${signal}` : `exit code ${code}`);
    });
  }

  private onCrash(how: string): void {
    const now = Date.now();
    const crashes = this.crashes;
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= MAX_CRASHES) {
      this.hooks.fatal(`Temporal dev server exited unexpectedly (${how}), the ${crashes.length}th time in ${CRASH_WINDOW_MS / 60_000} minutes; not restarting it`);
      return;
    }
    this.restarting = this.restartAfterCrash(how);
  }

  private async restartAfterCrash(exit: string): Promise<void> {
    const { say, fatal, address } = this.hooks;
    let how = exit;
    const attempts = TEMPORAL_RESTART_DELAYS_MS.length;
    for (const [i, delay] of TEMPORAL_RESTART_DELAYS_MS.entries()) {
      if (this.stopping) return;
      say(`Temporal dev server exited unexpectedly (${how}); restarting it on the same file and port in ${delay} ms (try ${i + 1} of ${attempts})`);
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopping) return;
      const started = Date.now();
      try {
        await this.replaceServer();
        say(`Temporal dev server is back on ${address} (ready in ${Date.now() - started} ms)`);
        return;
      } catch (err) {
        how = `restart failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    fatal(`Temporal dev server could not be restarted after ${attempts} tries (${how})`);
  }

  restart({ signal = 'SIGKILL', downtimeMs = 0 }: TemporalRestartOptions = {}): Promise<TemporalRestart> {
    const run = this.killAndRestart(this.server, signal, downtimeMs);
    this.restarting = run;
    return run;
  }

  private async killAndRestart(old: DevServer, signal: NodeJS.Signals, downtimeMs: number): Promise<TemporalRestart> {
    const stoppedAt = Date.now();
    this.hooks.say(`Temporal dev server: ${signal} (fault injection), back in ${downtimeMs} ms …`);
    this.retiring.add(old);
    old.process.kill(signal);
    await old.stop(); // waits for the exit (and escalates to SIGKILL after 10 s)
    if (downtimeMs > 0) await new Promise((r) => setTimeout(r, downtimeMs));
    await this.replaceServer();
    const readyAt = Date.now();
    this.hooks.say(`Temporal dev server back after ${readyAt - stoppedAt} ms`);
    return { stoppedAt, readyAt };
  }

  private async replaceServer(): Promise<void> {
    this.server = await startDevServer(this.options);
    this.watch(this.server);
  }

  markStopping(): void {
    this.stopping = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting.catch(() => undefined);
    await this.server.stop();
  }
}
