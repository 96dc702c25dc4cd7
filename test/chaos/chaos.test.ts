import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChaosResult } from '../../tooling/chaos/report.js';

// The short form of the fault-injection suite (`npm run chaos -- --profile ci`): the whole
// stack as separate processes, 60 leads × 3 updates through the API over HTTP while the
// worker is SIGKILLed twice (once mid CRM call), the Temporal dev server is killed and
// restarted on its SQLite file, an API process gets SIGTERM, the CRM answers 500s, 429s
// and hangs and the SMTP server answers 451 and drops connections; then every invariant.
// Once more with `--crm hubspot`: the HubSpot adapter (batched upserts) against the HubSpot
// simulator, its faults set through that simulator's switches.
//
// It runs its own build of the project in .data/chaos-build (not dist/), so it neither
// depends on nor races with other tests that rebuild dist/.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, '.data', 'chaos-build');
const execFileAsync = promisify(execFile);

async function build(): Promise<void> {
  mkdirSync(BUILD, { recursive: true });
  const tsc = join(ROOT, 'scripts', 'tsc.mjs');
  await run([tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--tsBuildInfoFile', join(BUILD, '.tsbuildinfo')]);
  await run([join(BUILD, 'scripts', 'bundle-workflows.js')]);
}

/** Runs node with these arguments in the repository, failing with its output. */
async function run(args: string[]): Promise<void> {
  try {
    await execFileAsync(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Run {
  code: number | null;
  log: string;
  result?: ChaosResult;
}

async function chaos(args: string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-test-'));
  const logFile = join(dir, 'chaos.log');
  const out = join(dir, 'result.json');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [join(BUILD, 'scripts', 'chaos.js'), ...args, '--out', out, '--data-dir', join(dir, 'data')], {
    cwd: ROOT,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const log = readFileSync(logFile, 'utf8');
  const result = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as ChaosResult) : undefined;
  if (code === 0) rmSync(dir, { recursive: true, force: true });
  return { code, log, ...(result ? { result } : {}) };
}

/** The run's own lines (summary, faults, failed checks), without the stack's output. */
const chaosLines = (log: string) =>
  log
    .split('\n')
    .filter((l) => l.startsWith('chaos') || /^(leads=|(mixed|worker-kill|server-restart|api-sigterm|crm|smtp) )/.test(l))
    .join('\n');

beforeAll(() => build(), 300_000);

/** Runs the short form with these extra flags and asserts every invariant and figure. */
async function shortForm(extra: string[]): Promise<void> {
  let run = await chaos(['--profile', 'ci', ...extra]);
  if (/run failed: StartupError/.test(run.log)) {
    // The stack did not come up (e.g. a free port taken by another process between being
    // chosen and being bound, on a shared machine): not an invariant violation, so the
    // run is tried once more; a second start-up failure fails the test below.
    console.log(`the stack did not start; trying once more:\n${run.log.slice(-2000)}`);
    run = await chaos(['--profile', 'ci', ...extra]);
  }
  const summary = chaosLines(run.log);
  console.log(summary);
  expect(run.result, `no result; output:\n${run.log.slice(-5000)}`).toBeDefined();
  const scenario = run.result!.scenarios[0]!;
  const failed = scenario.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  expect(failed, summary).toEqual([]);
  expect(run.code).toBe(0);

  // The figures the issue names, asserted one by one.
  const i = scenario.invariants;
  expect(i.lost).toBe(0);
  expect(i.dupCrm).toBe(0);
  expect(i.dupEmail).toBe(0);
  expect(i.stuck).toBe(0);
  expect(i.missingEmail).toBe(0);
  // Each lead's create and three updates, and the opt-out that closes a share of them.
  expect(i.optedOut).toBeGreaterThan(0);
  expect(i.acknowledged).toBe(60 * 4 + i.optedOut);
  // One person, one lead; consent held by the address.
  expect(i.dupEmailContacts).toBe(0);
  expect(i.mailedAfterOptOut).toBe(0);
  expect(i.maxAttempts).toBeGreaterThan(1);
  // The CRM's own limit (REST: per second; HubSpot: per rolling 10 s) never reached.
  expect(scenario.crm.maxPerWindow).toBeLessThanOrEqual(scenario.crm.limit);
  expect(scenario.crm.rateLimited).toBe(0);
  // Read-your-writes under faults: every 202 was read back at once, and none was denied.
  expect(scenario.reads.checked).toBeGreaterThanOrEqual(2 * 60 * 4);
  expect(scenario.reads.denied).toBe(0);
  if (scenario.crm.adapter === 'rest') {
    // The workers' own limit (8/s in the short form), in every sliding second of their sends.
    expect(scenario.crm.maxGrantedPerSecond).toBeLessThanOrEqual(scenario.crm.workerRate);
    expect(scenario.crm.ungranted).toBe(0);
  } else {
    // Batches: fewer requests than writes.
    expect(scenario.crm.records).toBeGreaterThan(scenario.crm.requests);
  }
  // Every fault was exercised.
  const kinds = scenario.faults.filter((f) => !f.error).map((f) => f.kind);
  expect(kinds.filter((k) => k === 'worker-kill')).toHaveLength(2);
  expect(kinds).toContain('server-restart');
  expect(kinds).toContain('api-sigterm');
  expect(scenario.faults.some((f) => f.kind === 'worker-kill' && (f.crmInFlight ?? 0) > 0)).toBe(true);
  expect(scenario.crm.byStatus['500']).toBeGreaterThan(0);
  expect(scenario.crm.byStatus['429']).toBeGreaterThan(0);
  expect(scenario.crm.hung).toBeGreaterThan(0);
  expect(scenario.smtp.rejected).toBeGreaterThan(0);
  expect(scenario.smtp.dropped).toBeGreaterThan(0);
}

describe('chaos (short form)', () => {
  it('keeps every invariant under worker kills, a Temporal restart, an API SIGTERM, CRM and SMTP faults', { timeout: 900_000 }, async () => {
    await shortForm([]);
  });

  // Regression: this seed made the CRM see 11 writes in one second at a worker limit of 8
  // and refuse 6 at its limit of 15, when the limit was Temporal's task-queue token bucket.
  it('holds the CRM rate limit with seed 414756', { timeout: 900_000 }, async () => {
    await shortForm(['--seed', '414756']);
  });

  it('keeps every invariant with the HubSpot adapter and simulator', { timeout: 900_000 }, async () => {
    await shortForm(['--crm', 'hubspot']);
  });
});
