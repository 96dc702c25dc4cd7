import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchOnHost, waitUntil, type HostProcess } from './host-process.js';
import { API_PORT, OPS_PORT, type HostSpec } from './topology.js';
import { withHeapOptions } from '../../src/node-heap.js';

/**
 * One app host: the API (`src/api/server.js`, itself API_PROCESSES node:cluster processes)
 * and WORKER_PROCESSES workers (`worker/main.js`), the same entry points `npm start` runs,
 * as separate processes so a benchmark can stop and start the workers alone. A worker that
 * exits on its own is started again a second later (it exits when Temporal stays
 * unreachable), unless the host is down or stopping.
 */

// The same build's entry points, wherever it was compiled to (dist/, or a test's own build).
const API_SCRIPT = () => fileURLToPath(new URL('../../src/api/server.js', import.meta.url));
const WORKER_SCRIPT = () => fileURLToPath(new URL('../../worker/main.js', import.meta.url));

export class AppHost {
  private api: HostProcess | undefined;
  private readonly workers = new Set<HostProcess>();
  private up = false;
  private started = 0;

  constructor(
    readonly host: HostSpec,
    private readonly env: NodeJS.ProcessEnv,
    private readonly workerCount: number,
    private readonly logDir: string,
  ) {}

  get apiUrl(): string {
    return `http://${this.host.address}:${API_PORT}`;
  }

  /** The API's ops listener (/ready, /metrics), bound to this host's address too. */
  get opsUrl(): string {
    return `http://${this.host.address}:${OPS_PORT}`;
  }

  async start(): Promise<void> {
    this.up = true;
    this.api = launchOnHost({ name: `api-${this.host.name}`, host: this.host, command: process.execPath, args: [API_SCRIPT()], env: withHeapOptions('api', this.env), logDir: this.logDir });
    await Promise.all([
      waitUntil(`API on ${this.host.name}`, () => httpOk(`${this.opsUrl}/ready`), 180_000, this.api),
      this.startWorkers(this.workerCount),
    ]);
  }

  /** The host lost every process at once (its namespace was emptied): nothing comes back by itself. */
  markDown(): void {
    this.up = false;
    this.api = undefined;
    this.workers.clear();
  }

  /** Starts `count` more workers here; resolves once each polls its task queues. */
  async startWorkers(count: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.supervise(withHeapOptions('worker', { ...this.env, ...env }))));
  }

  /** Stops every worker here (SIGTERM: in-flight tasks finish first). */
  async stopWorkers(): Promise<void> {
    const stopping = [...this.workers];
    this.workers.clear();
    await Promise.all(stopping.map((w) => w.stop(30_000)));
  }

  workerPids(): number[] {
    return [...this.workers].map((w) => w.pid).filter((pid): pid is number => pid !== undefined);
  }

  apiPid(): number | undefined {
    return this.api?.pid;
  }

  async stop(): Promise<void> {
    this.up = false;
    await Promise.all([this.stopWorkers(), this.api?.stop(20_000)]);
  }

  private async supervise(env: NodeJS.ProcessEnv): Promise<void> {
    const worker = this.launchWorker(env);
    await waitForWorker(worker);
    void worker.exited.then(async (how) => {
      if (!this.up || !this.workers.has(worker)) return;
      this.workers.delete(worker);
      await sleep(1_000);
      if (this.up) await this.supervise(env).catch((err: unknown) => console.error(`${this.host.name}: worker restart failed after exit ${how}: ${String(err)}`));
    });
  }

  private launchWorker(env: NodeJS.ProcessEnv): HostProcess {
    const worker = launchOnHost({ name: `worker-${this.host.name}-${++this.started}`, host: this.host, command: process.execPath, args: [WORKER_SCRIPT()], env, logDir: this.logDir });
    this.workers.add(worker);
    return worker;
  }
}

async function waitForWorker(worker: HostProcess): Promise<void> {
  await waitUntil(`worker ${worker.name}`, async () => /worker: polling/.test(readFileSync(worker.logFile, 'utf8')), 180_000, worker);
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.body?.cancel();
  return res.ok;
}
