import { startBenchStack, type BenchStack } from '../bench-stack.js';
import { log } from '../progress.js';
import { stackOptions, withStack, type Ctx } from './context.js';
import { runC4 } from '../floor/run.js';
import { runC0, runC2, runC3, runSeedMix } from './steps.js';

// The default benchmark: the old design's stress test (seed-mix) against the API, with the
// ceilings measured in the same run on the same stack: C0 (bare HTTP), C2 (raw Temporal
// client), C3 (worker drain rate) and C4 (the floor: the least a lead costs on this engine,
// bench/floor). C0 and C2 first, so the API meets the larger database.

export async function ceilingsOn(ctx: Ctx, stack: BenchStack): Promise<void> {
  const { options } = ctx;
  ctx.report.c0 = await runC0(ctx, stack.flags.apiProcesses);
  ctx.report.c2 = await runC2(ctx, stack, {
    label: 'C2 raw client',
    durationS: options.ceilingDurationS,
    warmupS: Math.min(options.warmupS, 10),
  });
}

export async function seedMixScenario(ctx: Ctx, opts: { withCeilings: boolean; then?: (stack: BenchStack) => Promise<void> }): Promise<void> {
  const { options } = ctx;
  log(`starting the stack (${options.apiProcesses} API process(es), ${options.workerProcesses} worker(s)) …`);
  const stack = await startBenchStack(stackOptions(options));
  ctx.report.flags = stack.flags;
  await withStack(ctx, stack, async () => {
    if (opts.withCeilings) await ceilingsOn(ctx, stack);
    ctx.report.seedMix = await runSeedMix(ctx, stack, {
      label: 'seed-mix API',
      durationS: options.durationS,
      warmupS: options.warmupS,
    });
    if (opts.withCeilings) {
      ctx.report.c3 = await runC3(ctx, stack, {});
      ctx.report.c4 = await runC4(stack, { leads: options.floorLeads, connections: options.connections, runId: ctx.runId });
    }
    await opts.then?.(stack);
  });
}

export async function ceilingsScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const stack = await startBenchStack(stackOptions(options));
  ctx.report.flags = stack.flags;
  await withStack(ctx, stack, async () => {
    await ceilingsOn(ctx, stack);
    ctx.report.c3 = await runC3(ctx, stack, {});
    ctx.report.c4 = await runC4(stack, { leads: options.floorLeads, connections: options.connections, runId: ctx.runId });
  });
}
