import { startBenchStack, type BenchStack } from '../bench-stack.js';
import { clusterBenchDataDir, startClusterBenchStack } from '../cluster-stack.js';
import type { CpuMeter, CpuShare } from '../cpu.js';
import { log } from '../progress.js';
import { repoRoot } from '../../tooling/temporal/binary.js';
import { stackOptions, withStack, type ClusterCompareEntry, type Ctx } from './context.js';
import { runC2, runC3, runSeedMix } from './steps.js';

// The cluster against the dev server, in one run on one machine: the same steps on each
// (seed-mix through the API, C2 raw workflow starts, C3 worker drain), each with the CPU
// seconds of every role over the step, so the report shows where the two cores went.

export async function clusterScenario(ctx: Ctx): Promise<void> {
  const { options } = ctx;
  const entries: ClusterCompareEntry[] = [];
  ctx.report.clusterCompare = entries;

  log(`dev server: starting the stack (${options.apiProcesses} API process(es), ${options.workerProcesses} worker(s)) …`);
  const dev = await startBenchStack(stackOptions(options));
  ctx.report.flags = dev.flags;
  await withStack(ctx, dev, async () => {
    entries.push(await stepsOn(ctx, 'dev server', dev, () => dev.cpuMeter()));
  });

  const perHost = Math.max(1, Math.round(options.workerProcesses / 2));
  log(`cluster: starting it (API ${options.apiProcesses} process(es) and ${perHost} worker(s) on each of 2 app hosts) …`);
  const cluster = await startClusterBenchStack({
    dataDir: clusterBenchDataDir(repoRoot() ?? process.cwd()),
    apiProcesses: options.apiProcesses,
    workerProcesses: perHost,
  });
  await withStack(ctx, cluster, async () => {
    entries.push(await stepsOn(ctx, 'cluster', cluster, () => cluster.cpuMeter()));
  });
}

async function stepsOn(ctx: Ctx, target: string, stack: BenchStack, meter: () => CpuMeter): Promise<ClusterCompareEntry> {
  const { options } = ctx;
  const measured = async <T>(step: () => Promise<T>): Promise<[T, CpuShare[]]> => {
    const m = meter();
    m.start();
    const result = await step();
    return [result, m.stop()];
  };
  const [seedMix, seedMixCpu] = await measured(() =>
    runSeedMix(ctx, stack, { label: `seed-mix API (${target})`, durationS: options.durationS, warmupS: options.warmupS }),
  );
  const [c2, c2Cpu] = await measured(() =>
    runC2(ctx, stack, { label: `C2 raw client (${target})`, durationS: options.ceilingDurationS, warmupS: Math.min(options.warmupS, 10) }),
  );
  const [c3, c3Cpu] = await measured(() => runC3(ctx, stack, { label: `C3 worker drain (${target})` }));
  return { target, flags: stack.flags, seedMix, c2, c3, cpu: { seedMix: seedMixCpu, c2: c2Cpu, c3: c3Cpu } };
}
