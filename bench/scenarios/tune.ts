import { DURABLE_WAL } from '../../tooling/stack/stack.js';
import { startBenchStack } from '../bench-stack.js';
import { log } from '../progress.js';
import { formatRate } from '../stats.js';
import { withStack, type Ctx, type TuneServerEntry, type TuneWorkerEntry } from './context.js';
import { runC2, runC3 } from './steps.js';

// Tuning: the raw-client write ceiling (C2) and the worker drain rate (C3) under the dev
// server settings that bound throughput (SQLite journal mode and synchronous pragmas,
// history shard I/O concurrency, file vs memory), then the drain rate under a few worker
// concurrency settings. Each server setting gets a fresh stack.

interface ServerSetting {
  name: string;
  description: string;
  durability: string;
  sqlitePragmas?: Record<string, string>;
  dynamicConfig?: Record<string, unknown>;
  inMemory?: boolean;
}

export const SERVER_SETTINGS: ServerSetting[] = [
  {
    name: 'sqlite-defaults',
    description: 'no pragmas: SQLite defaults, journal_mode=DELETE, synchronous=FULL',
    durability: 'durable: every commit is fsynced before it is acknowledged',
    sqlitePragmas: {},
  },
  {
    name: 'wal-full',
    description: 'journal_mode=WAL, synchronous=FULL (the stack default)',
    durability: 'durable: every commit is fsynced (to the WAL) before it is acknowledged',
    sqlitePragmas: { ...DURABLE_WAL },
  },
  {
    name: 'wal-normal',
    description: 'journal_mode=WAL, synchronous=NORMAL',
    durability: 'survives a crash of the server process; an OS crash or power loss can lose the last commits (never corrupts the file)',
    sqlitePragmas: { journal_mode: 'wal', synchronous: 'normal' },
  },
  {
    name: 'wal-full+shardIO8',
    description: 'journal_mode=WAL, synchronous=FULL, history.shardIOConcurrency=8',
    durability: 'durable, as wal-full',
    sqlitePragmas: { journal_mode: 'wal', synchronous: 'full' },
    dynamicConfig: { 'history.shardIOConcurrency': 8 },
  },
  {
    name: 'in-memory',
    description: 'no database file',
    durability: 'not durable: all state is lost when the dev server stops',
    inMemory: true,
  },
];

export const WORKER_SETTINGS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'small (10 workflow tasks, 20 activities)', env: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '10', WORKER_MAX_CONCURRENT_ACTIVITIES: '20' } },
  { name: 'default (40 workflow tasks, 100 activities)', env: {} },
  { name: 'large (200 workflow tasks, 400 activities)', env: { WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '200', WORKER_MAX_CONCURRENT_ACTIVITIES: '400' } },
  { name: 'cache 200 (default concurrency, 200 cached workflows instead of 100)', env: { WORKER_MAX_CACHED_WORKFLOWS: '200' } },
];

/** A fresh stack on one dev server setting, with the run's process counts. */
function startTuneStack(ctx: Ctx, setting: ServerSetting) {
  return startBenchStack({
    apiProcesses: ctx.options.apiProcesses,
    workerProcesses: ctx.options.workerProcesses,
    ...(setting.sqlitePragmas ? { sqlitePragmas: setting.sqlitePragmas } : {}),
    ...(setting.dynamicConfig ? { dynamicConfig: setting.dynamicConfig } : {}),
    ...(setting.inMemory ? { inMemory: true } : {}),
  });
}

export async function tuneScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const server: TuneServerEntry[] = [];
  const worker: TuneWorkerEntry[] = [];
  ctx.report.tune = { server, worker };

  for (const setting of SERVER_SETTINGS) {
    log(`tune: dev server setting "${setting.name}" (${setting.description})`);
    try {
      const stack = await startTuneStack(ctx, setting);
      ctx.report.flags ??= stack.flags;
      await withStack(ctx, stack, async () => {
        const c2 = await runC2(ctx, stack, { label: `tune ${setting.name} C2`, durationS: options.tuneDurationS, warmupS: 5 });
        const c3 = await runC3(ctx, stack, { label: `tune ${setting.name} C3` });
        server.push({ name: setting.name, description: setting.description, durability: setting.durability, flags: stack.flags, c2, c3 });
      });
    } catch (err) {
      log(`tune: "${setting.name}" failed: ${(err as Error).message}`);
      ctx.report.failures.push(`tune ${setting.name}: ${(err as Error).message}`);
    }
  }
  ctx.report.tune.recommendation = recommend(server, 'wal-full');
  log(`tune: ${ctx.report.tune.recommendation}`);

  // Worker settings only matter once persistence is not the bottleneck: compare them on the
  // fastest durable server setting.
  const best = fastestDurable(server);
  const setting = SERVER_SETTINGS.find((s) => s.name === best?.name) ?? SERVER_SETTINGS[0]!;
  ctx.report.tune.workerServerSetting = setting.name;
  log(`tune: worker settings on the "${setting.name}" server setting`);
  try {
    const stack = await startTuneStack(ctx, setting);
    await withStack(ctx, stack, async () => {
      // A first C2 run sizes C3 and warms the server up.
      await runC2(ctx, stack, { label: `tune workers on ${setting.name} C2`, durationS: Math.min(10, options.tuneDurationS), warmupS: 3 });
      for (const w of WORKER_SETTINGS) {
        try {
          worker.push({ name: w.name, env: w.env, c3: await runC3(ctx, stack, { workerEnv: w.env, label: `tune worker ${w.name}` }) });
        } catch (err) {
          worker.push({ name: w.name, env: w.env, error: (err as Error).message });
        }
      }
    });
  } catch (err) {
    log(`tune: worker settings failed: ${(err as Error).message}`);
    ctx.report.failures.push(`tune worker settings: ${(err as Error).message}`);
  }
}

type Measured = Pick<TuneServerEntry, 'name' | 'durability' | 'c2'> & { c3?: { rate: number } | undefined };

function fastestDurable<T extends Measured>(entries: readonly T[]): T | undefined {
  return [...entries].filter((e) => e.durability.startsWith('durable')).sort((x, y) => y.c2.totals.writeRps - x.c2.totals.writeRps)[0];
}

/**
 * The simplest durable setting (the first in measurement order) within 10% of the fastest
 * durable one, if it beats the current default (`baseName`) by more than the noise (15%).
 */
export function recommend(entries: readonly Measured[], baseName = 'default'): string {
  const base = entries.find((e) => e.name === baseName);
  if (!base) return `no recommendation: the current default (${baseName}) was not measured`;
  const score = (e: Measured) => e.c2.totals.writeRps;
  const fastest = fastestDurable(entries)!;
  const best = entries.find((e) => e.durability.startsWith('durable') && score(e) >= 0.9 * score(fastest))!;
  const gain = score(base) > 0 ? score(best) / score(base) : 0;
  if (best.name === base.name || gain < 1.15) {
    return `keep the default (${base.name}): no durable setting beat it by 15% or more on C2 writes (best: ${best.name}, ${formatRate(score(best))} vs ${formatRate(score(base))} writes/s)`;
  }
  const note = best !== fastest ? `; ${fastest.name} measured ${formatRate(score(fastest))}, within the noise` : '';
  return `use ${best.name}: ${formatRate(score(best))} vs ${formatRate(score(base))} C2 writes/s (${gain.toFixed(2)} ×) and stays durable${note}`;
}
