import { describe, expect, it } from 'vitest';
import { StepPlan } from '../../scripts/elapsed.mjs';
import { chaosPlan, profile } from '../../tooling/chaos/options.js';

describe('chaosPlan', () => {
  it('plans a load and a drain per scenario, the drain at most its timeout', () => {
    const steps = chaosPlan({ scenarios: ['mixed', 'crm'], durationMs: 20_000, drainTimeoutMs: 240_000 });
    expect(steps).toEqual([
      { what: 'mixed: load', plannedS: 20 },
      { what: 'mixed: drain', plannedS: 243 },
      { what: 'crm: load', plannedS: 20 },
      { what: 'crm: drain', plannedS: 243 },
    ]);
  });

  it('gives a short drain back to the run: the next load starts with only its own plan and the rest ahead', () => {
    const o = { ...profile('ci'), scenarios: ['mixed', 'crm'] as const, durationMs: 20_000, drainTimeoutMs: 60_000 };
    const plan = new StepPlan(chaosPlan({ ...o, scenarios: [...o.scenarios] }), 0);
    plan.begin(undefined, 0);
    plan.begin(undefined, 20_000);
    // The drain took 10 s of its 63: the second scenario (20 + 63 s) is what is left.
    expect(plan.begin('crm: load (20 s)', 30_000)).toBe('step 3/4: crm: load (20 s) — elapsed 30s, about 1m23s left');
  });
});
