import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from '../../src/config.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { eventually } from './harness.js';

// The API as `npm start` runs it: the built server entry, API_PROCESSES processes sharing its
// two ports (public and ops) through node:cluster, each with its own connection to Temporal. Built into its own
// directory (.data/api-cluster-build, not dist/) so it neither depends on nor races with
// other tests that rebuild dist/. Plain Node runs it: what vitest's loader forgives would
// fail here as it fails in production.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, '.data', 'api-cluster-build');
const execFileAsync = promisify(execFile);

export interface ApiCluster {
  baseUrl: string;
  /** The ops listener (OPS_PORT): /metrics, /ready, /codec, /console. */
  opsUrl: string;
  output(): string;
  close(): Promise<void>;
}

async function build(): Promise<void> {
  mkdirSync(BUILD, { recursive: true });
  const tsc = join(ROOT, 'scripts', 'tsc.mjs');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--tsBuildInfoFile', join(BUILD, '.tsbuildinfo')];
  try {
    await execFileAsync(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`tsc failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Starts the API with `processes` processes against the harness's Temporal and task queues. */
export async function startApiCluster(config: Config, processes: number, env: Record<string, string> = {}): Promise<ApiCluster> {
  await build();
  const port = await getFreePort();
  const opsPort = await getFreePort();
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [join(BUILD, 'src', 'api', 'server.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      OPS_PORT: String(opsPort),
      API_PROCESSES: String(processes),
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      TEMPORAL_CRM_TASK_QUEUE: config.TEMPORAL_CRM_TASK_QUEUE,
      QUERY_TIMEOUT_MS: String(config.QUERY_TIMEOUT_MS),
      READ_TIMEOUT_MS: String(config.READ_TIMEOUT_MS),
      HANDLER_TIMEOUT_MS: String(config.HANDLER_TIMEOUT_MS),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}):\n${output}`);
      return output.includes(`(${processes} processes)`) || undefined;
    }, { timeoutMs: 60_000, intervalMs: 100, what: `the API to listen with ${processes} processes` });
  } catch (err) {
    child.kill('SIGTERM');
    throw new Error(`${(err as Error).message}\n--- output ---\n${output}`);
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    output: () => output,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
