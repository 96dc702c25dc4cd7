import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/args.js';
import { benchPlan } from '../../bench/plan.js';

const plan = (...argv: string[]) => {
  const options = parseArgs(argv, '/tmp/out');
  if (options === 'help') throw new Error('help');
  return benchPlan(options);
};
const total = (steps: ReturnType<typeof plan>) => steps.reduce((t, s) => t + s.plannedS, 0);

describe('benchPlan', () => {
  it('plans seed-mix with its ceilings: warm-up + measured time + drain timeout per load run', () => {
    const steps = plan('--duration', '60s', '--warmup', '10s', '--drain-timeout', '2m');
    expect(steps.map((s) => s.what)).toEqual(['C0 bare Fastify', 'C2 raw client', 'seed-mix API', 'C3 worker drain', 'C4 floor']);
    // C0 5 + 30 (no drain); C2 10 + 30 + 120; seed-mix 10 + 60 + 120; C3 30 preload + 120; C4 10 start + 2,000 leads at 40/s.
    expect(steps.map((s) => s.plannedS)).toEqual([35, 160, 190, 150, 60]);
  });

  it('plans only the seed-mix load without ceilings', () => {
    const steps = plan('seed-mix', '--duration', '5s', '--warmup', '1s', '--no-ceilings', '--drain-timeout', '30s');
    expect(steps).toEqual([{ what: 'seed-mix API', plannedS: 36 }]);
  });

  it('plans an API and a raw run per open-loop rate after C2', () => {
    const steps = plan('open-loop', '--open-rates', '0.5,1', '--open-duration', '20s', '--drain-timeout', '1m');
    expect(steps.map((s) => s.what)).toEqual(['C2 raw client', 'open 50% API', 'open 50% raw', 'open 100% API', 'open 100% raw']);
    expect(steps[1]!.plannedS).toBe(5 + 20 + 60);
  });

  it('plans every scenario of "all", and both paths of an import', () => {
    const all = plan('all', '--drain-timeout', '1m');
    expect(all.length).toBeGreaterThan(plan('scale').length + plan('tune').length);
    expect(total(all)).toBeGreaterThan(total(plan('seed-mix', '--drain-timeout', '1m')));
    expect(plan('import', '--leads', '500').map((s) => s.what)).toEqual(['import batch', 'import single']);
    expect(plan('cluster')).toHaveLength(6);
  });
});
