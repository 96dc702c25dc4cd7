import type { PlannedStep } from '../scripts/elapsed.mjs';
import type { BenchOptions } from './scenarios/context.js';
import { SCALE_CONFIGS } from './scenarios/scale.js';
import { SERVER_SETTINGS, WORKER_SETTINGS } from './scenarios/tune.js';

// The steps a bench run will take and an upper bound on each, from its options alone, so the
// progress lines can say "step 3/5 … about 6m left" from the start. Each step is a load run
// (warm-up + measured time) with its drain check (at most the drain timeout), or a C3 drain;
// a drain that passes sooner takes its unused time off what is left. Pure.

/** Allowance for preloading C3's leads (at most 1,000 creates) before the workers start. */
const C3_PRELOAD_S = 30;
/** Allowance for C4's worker to start (it bundles the floor workflow). */
const C4_START_S = 10;

export function benchPlan(o: BenchOptions): PlannedStep[] {
  const drain = o.drainTimeoutS;
  const c0 = (): PlannedStep => ({ what: 'C0 bare Fastify', plannedS: Math.min(5, o.warmupS) + o.ceilingDurationS });
  const c2 = (what = 'C2 raw client', warmupS = Math.min(o.warmupS, 10), durationS = o.ceilingDurationS): PlannedStep => ({
    what,
    plannedS: warmupS + durationS + drain,
  });
  const c3 = (what = 'C3 worker drain'): PlannedStep => ({ what, plannedS: C3_PRELOAD_S + drain });
  // Bundling its workflow, then its leads at about the engine's 40–50 leads/s on two cores.
  const c4 = (): PlannedStep => ({ what: 'C4 floor', plannedS: C4_START_S + o.floorLeads / 40 });
  const seedMix = (what = 'seed-mix API', warmupS = o.warmupS, durationS = o.durationS): PlannedStep => ({ what, plannedS: warmupS + durationS + drain });

  const ceilings = [c0(), c2()];
  const openLoop = o.openLoopFractions.flatMap((f) => {
    const pct = Math.round(f * 100);
    return [seedMix(`open ${pct}% API`, 5, o.openLoopDurationS), c2(`open ${pct}% raw`, 5, o.openLoopDurationS)];
  });
  const scale = [
    ...SCALE_CONFIGS.flatMap(([api, workers]) => [seedMix(`scale ${api}api/${workers}w`, 5, o.scaleDurationS), c3(`scale ${api}api/${workers}w C3`)]),
    // Sequential PUTs to one lead (a few ms each), then its drain check.
    { what: 'continue-as-new read test', plannedS: o.canUpdates * 0.05 + drain },
  ];
  const tune = [
    ...SERVER_SETTINGS.flatMap((s) => [c2(`tune ${s.name} C2`, 5, o.tuneDurationS), c3(`tune ${s.name} C3`)]),
    c2('tune workers C2', 3, Math.min(10, o.tuneDurationS)),
    ...WORKER_SETTINGS.map((w) => c3(`tune worker ${w.name}`)),
  ];
  switch (o.scenario) {
    case 'seed-mix':
      return o.ceilings ? [...ceilings, seedMix(), c3(), c4()] : [seedMix()];
    case 'ceilings':
      return [...ceilings, c3(), c4()];
    case 'open-loop':
      return [c2(), ...openLoop];
    case 'scale':
      return scale;
    case 'tune':
      return tune;
    case 'import':
      // Sending takes a fraction of the drain timeout, which is sized for the whole import.
      return (['batch', 'single'] as const).map((path) => ({ what: `import ${path}`, plannedS: drain + o.importLeads / 50 }));
    case 'cluster':
      return ['dev server', 'cluster'].flatMap((target) => [
        seedMix(`seed-mix API (${target})`),
        c2(`C2 raw client (${target})`),
        c3(`C3 worker drain (${target})`),
      ]);
    case 'all':
      return [...ceilings, seedMix(), c3(), c4(), ...openLoop, ...scale, ...tune];
    default:
      return [];
  }
}
