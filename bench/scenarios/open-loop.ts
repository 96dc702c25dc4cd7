import { startBenchStack, type BenchStack } from '../bench-stack.js';
import { log } from '../progress.js';
import { formatRate } from '../stats.js';
import type { OpenLoopPoint } from '../targets.js';
import { stackOptions, withStack, type Ctx } from './context.js';
import { runC2, runSeedMix } from './steps.js';

// Open loop: the same user loop at fixed arrival rates (autocannon `overallRate`), a share
// of the raw client's write ceiling, so queueing shows instead of slowing the clients down.
// The raw client runs at the same rates with the same per-connection budget.
//
// Writes are half of the loop's requests, so offering `share × (C2 writes/s + C2 reads/s)`
// requests per second offers `share × C2 writes/s` writes per second.

export async function openLoopOn(ctx: Ctx, stack: BenchStack): Promise<void> {
  const { options } = ctx;
  if (!ctx.report.c2) {
    ctx.report.c2 = await runC2(ctx, stack, { label: 'C2 raw client', durationS: options.ceilingDurationS, warmupS: 5 });
  }
  const c2 = ctx.report.c2;
  const ceiling = c2.totals.writeRps + c2.totals.readRps;
  log(`open loop: C2 ceiling ${formatRate(c2.totals.writeRps)} writes/s + ${formatRate(c2.totals.readRps)} reads/s`);
  const points: OpenLoopPoint[] = [];
  for (const fraction of options.openLoopFractions) {
    const rate = Math.max(1, ceiling * fraction);
    const pct = Math.round(fraction * 100);
    const api = await runSeedMix(ctx, stack, {
      label: `open ${pct}% API`,
      durationS: options.openLoopDurationS,
      warmupS: 5,
      overallRate: rate,
    });
    const raw = await runC2(ctx, stack, {
      label: `open ${pct}% raw`,
      durationS: options.openLoopDurationS,
      warmupS: 5,
      overallRate: rate,
    });
    points.push({ fraction, rate, api, raw });
  }
  ctx.report.openLoop = points;
}

export async function openLoopScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const stack = await startBenchStack(stackOptions(options));
  ctx.report.flags = stack.flags;
  await withStack(ctx, stack, () => openLoopOn(ctx, stack));
}
