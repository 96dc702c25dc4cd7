import { describe, expect, it } from 'vitest';
import { StepPlan } from '../../scripts/elapsed.mjs';
import { chaosPlan, parseChaosArgs, profile, replayCommand, USAGE, UsageError } from '../../tooling/chaos/options.js';

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

describe('the chaos command line', () => {
  it('starts from the profile named anywhere, then applies each flag, --env as often as given', () => {
    const o = parseChaosArgs(['--leads', '7', '--env', 'A=1', '--profile', 'ci', '--env=B=2', '--crm-error-rate', '0.5', '--keep-data']);
    expect(o).toMatchObject({ profile: 'ci', leads: 7, keepData: true, env: { A: '1', B: '2', CRM_TIMEOUT_MS: '1000' } });
    expect(o.crmFaults.errorRate).toBe(0.5);
    expect(parseChaosArgs([])).toMatchObject({ profile: 'long', leads: 1_000, keepData: false });
  });

  it('refuses an unknown flag, a missing value and a bad number, and answers --help with the usage', () => {
    expect(() => parseChaosArgs(['--frobnicate'])).toThrow(/^unknown option --frobnicate\nusage:/);
    expect(() => parseChaosArgs(['--leads'])).toThrow(/^--leads needs a value/);
    expect(() => parseChaosArgs(['--leads', '0'])).toThrow(/--leads needs a number ≥ 1, got 0/);
    expect(() => parseChaosArgs(['--profile', 'short'])).toThrow(/--profile must be long or ci/);
    expect(() => parseChaosArgs(['--leads', '5', '-h'])).toThrow(new UsageError(USAGE));
  });

  it('replays a run with its flags as written, its seed, and without its own files', () => {
    const argv = ['--profile=ci', '--seed', '3', '--out', 'r.json', '--data-dir=/tmp/x', '--keep-data', '--env', 'A=1'];
    expect(replayCommand(argv, 42)).toBe('npm run chaos -- --profile=ci --env A=1 --seed 42');
  });
});
