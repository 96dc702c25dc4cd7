import { execFile, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FaultRunResult } from '../../tooling/cluster/fault-run.js';

// The cluster tier's short form (`npm run cluster:faults -- --short`): PostgreSQL, the real
// Temporal server as frontend, matching and two history processes (8 shards), the CRM and
// SMTP fakes, and API + worker on two app hosts, each host a network namespace. 40 leads
// × 3 writes go through the first API while a history node is SIGKILLed, the second app
// host loses every process, PostgreSQL is SIGKILLed and restarted, and the other history
// node is cut off for 30 s; then the chaos invariants over every acknowledged write.
//
// It runs its own build in .data/cluster-build (not dist/), like the chaos tier. Root is
// needed for `ip netns`; the test says so rather than skipping.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, '.data', 'cluster-build');
const execFileAsync = promisify(execFile);

async function node(args: string[]): Promise<void> {
  try {
    await execFileAsync(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  mkdirSync(BUILD, { recursive: true });
  const tsc = join(ROOT, 'scripts', 'tsc.mjs');
  await node([tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--tsBuildInfoFile', join(BUILD, '.tsbuildinfo')]);
  await node([join(BUILD, 'scripts', 'bundle-workflows.js')]);
}, 300_000);

describe('cluster faults (short form)', () => {
  it('loses nothing and duplicates nothing while history, app host, PostgreSQL and network faults land under load', async () => {
    expect(process.getuid?.(), 'the cluster tier needs root: its test hosts are network namespaces').toBe(0);
    // Under the repository, not the 0700 mkdtemp of tmpdir(): PostgreSQL runs as `postgres`
    // and must reach its data directory.
    mkdirSync(join(ROOT, '.data'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.data', 'cluster-test-'));
    chmodSync(dir, 0o755);
    const out = join(dir, 'result.json');
    const logFile = join(dir, 'run.log');
    const fd = openSync(logFile, 'w');
    const child = spawn(process.execPath, [join(BUILD, 'scripts', 'cluster-faults.js'), '--short', '--out', out, '--data-dir', join(dir, 'data')], {
      cwd: ROOT,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const log = readFileSync(logFile, 'utf8');
    console.log(log.split('\n').filter((l) => !/drain \d+s|acknowledged \d+\/\d+, in flight/.test(l)).join('\n'));
    expect(existsSync(out), `no result; output:\n${log.slice(-5000)}`).toBe(true);
    const result = JSON.parse(readFileSync(out, 'utf8')) as FaultRunResult;

    expect(result.problems, log.slice(-3000)).toEqual([]);
    expect(code).toBe(0);
    const i = result.invariants;
    expect(i.acknowledged).toBe(40 * 3);
    expect(i.lost).toBe(0);
    expect(i.doubleApplied).toBe(0);
    expect(i.dupCrm).toBe(0);
    expect(i.dupEmail).toBe(0);
    expect(i.stuck).toBe(0);
    expect(i.missingEmail).toBe(0);
    expect(result.drained).toBe(true);

    // Every fault landed, and the cluster served a new lead end to end after each.
    expect(result.events.map((e) => e.kind)).toEqual(['history-kill', 'app-host-kill', 'postgres-restart', 'partition']);
    for (const e of result.events) {
      expect(e.error, e.detail).toBeUndefined();
      expect(e.recoveredAt, `${e.kind}: ${e.detail}`).toBeGreaterThan(e.at);
    }
    // The killed history node's shards, and the cut-off one's, were taken over by the other.
    const history = result.events.filter((e) => e.kind === 'history-kill' || e.kind === 'partition');
    for (const e of history) expect(e.shardsMovedAt, `${e.kind}: ${e.detail}`).toBeGreaterThan(e.at);
    rmSync(dir, { recursive: true, force: true });
  });
});
