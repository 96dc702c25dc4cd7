import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTemporalBinary } from '../../tooling/temporal/binary.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { onCleanup } from '../cleanup.js';
import type { SimulatorUrls } from '../drain.js';

// One side of an A/B run: that build's own `scripts/stack.js` (what `npm start` runs after
// building), as a black box on free loopback ports and a fresh SQLite file, so each side
// brings its own defaults (dev-server flags, worker settings) and is measured as users run it.

export interface SideStack {
  apiUrl: string;
  temporalAddress: string;
  sim: SimulatorUrls;
  apiProcesses: number;
  /** The stack's own process (scripts/stack.js); its descendants are the stack. */
  pid: number;
  /** Ctrl-C, as a user stops it; SIGKILL of the whole group if it hangs. */
  stop(): Promise<void>;
}

export async function startSideStack(root: string, label: string, env: Record<string, string> = {}): Promise<SideStack> {
  const dir = mkdtempSync(join(tmpdir(), 'ao-ab-'));
  const host = '127.0.0.1';
  const port = async () => String(await getFreePort(host));
  const settings: Record<string, string> = {
    HOST: host,
    PORT: await port(),
    OPS_PORT: await port(),
    TEMPORAL_ADDRESS: `${host}:${await port()}`,
    TEMPORAL_UI_PORT: await port(),
    TEMPORAL_DB_FILE: join(dir, 'temporal.sqlite'),
    CRM_BASE_URL: `http://${host}:${await port()}`,
    CRM_RATE_LIMIT_PER_SECOND: '0',
    SMTP_HOST: host,
    SMTP_PORT: await port(),
    SMTP_SINK_HTTP_PORT: await port(),
    API_KEYS: '',
    LOG_LEVEL: 'warn',
    // A worktree has no .tools/: both sides run the Temporal binary this checkout uses.
    TEMPORAL_CLI_PATH: resolveTemporalBinary(),
    ...env,
  };
  const child = spawn(process.execPath, [join(root, 'dist', 'scripts', 'stack.js')], {
    cwd: root,
    env: { ...process.env, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(killGroup, 60_000);
        await exited;
        clearTimeout(timer);
      }
      killGroup(); // anything the stack left behind
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const forget = onCleanup(`${label} stack`, stop);

  const deadline = Date.now() + 240_000;
  while (!output.includes('Automation Orchestrator is up')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      forget();
      throw new Error(`${label}: the stack did not come up${Date.now() > deadline ? ' within 240 s' : ''}:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    apiUrl: `http://${host}:${settings.PORT}`,
    temporalAddress: settings.TEMPORAL_ADDRESS!,
    sim: { crmUrl: settings.CRM_BASE_URL!, smtpHttpUrl: `http://${host}:${settings.SMTP_SINK_HTTP_PORT}` },
    // The side's own default unless told: one API process per core, at most 4.
    apiProcesses: Number(settings.API_PROCESSES ?? Math.min(availableParallelism(), 4)),
    pid: child.pid!,
    async stop() {
      await stop();
      forget();
    },
  };
}
