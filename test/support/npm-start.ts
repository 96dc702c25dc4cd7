import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface NpmStart {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ctrl-C, as a terminal sends it: SIGINT to the whole process group. */
  stop(): Promise<void>;
}

/** `npm start` in the repository with `env` on top of this process's, once it reports the stack up. */
export async function npmStart(env: Record<string, string>): Promise<NpmStart> {
  let output = '';
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env }, detached: true });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
    await exited;
  };
  const up = eventually(async () => (output.includes('Automation Orchestrator is up') ? true : undefined), {
    timeoutMs: 240_000,
    intervalMs: 250,
    what: 'npm start to report the stack up',
  });
  const died = exited.then((exit) => {
    throw new Error(`npm start exited (${exit.signal ?? `code ${exit.code}`}) before the stack was up`);
  });
  // The loser of the race must not surface later as an unhandled rejection.
  up.catch(() => undefined);
  died.catch(() => undefined);
  await Promise.race([up, died]).catch(async (err: Error) => {
    await stop();
    throw new Error(`${err.message}\n--- output ---\n${output}`);
  });
  return { child, output: () => output, exited, stop };
}
