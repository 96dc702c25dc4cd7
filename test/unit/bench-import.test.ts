import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/args.js';
import type { DrainResult } from '../../bench/drain.js';
import { importRatio, importRows } from '../../bench/report.js';
import type { ImportRun } from '../../bench/scenarios/context.js';

const drain: DrainResult = {
  ok: true,
  timedOut: false,
  drainSeconds: 30,
  leads: 1000,
  writes: 1000,
  verdict: { ok: true, leadsChecked: 1000, writesChecked: 1000, missingContacts: 0, behind: 0, ahead: 0, staleContent: 0, missingEmails: 0, duplicateEmails: 0, examples: [] },
};
const run = (path: ImportRun['path'], acceptS: number, syncedS: number): ImportRun => ({
  path,
  leads: 1000,
  leadsPerRequest: path === 'batch' ? 500 : 1,
  inFlight: path === 'batch' ? 2 : 64,
  requests: path === 'batch' ? 2 : 1000,
  retried: 0,
  acceptS,
  syncedS,
  drain,
});

describe('bench import', () => {
  it('takes the lead count as a flag and waits for the drain at least 0.2 s per lead', () => {
    expect(parseArgs(['import'], '/out')).toMatchObject({ scenario: 'import', importLeads: 10_000, drainTimeoutS: 2000 });
    expect(parseArgs(['import', '--leads', '500'], '/out')).toMatchObject({ importLeads: 500, drainTimeoutS: 300 });
    expect(parseArgs(['import', '--leads', '500', '--drain-timeout', '1m'], '/out')).toMatchObject({ drainTimeoutS: 60 });
  });

  it('reports both paths with their rates and how much faster the batch was', () => {
    const runs = [run('batch', 10, 40), run('single', 50, 80)];
    expect(importRows(runs).map((r) => [r[0], r[2], r[5], r[7], r[8]])).toEqual([
      ['POST /api/leads/batch (500 per request, 2 in flight)', '2', '100', '25.0', 'passed'],
      ['POST /api/leads (64 in flight)', '1000', '20.0', '12.5', 'passed'],
    ]);
    expect(importRatio(runs)).toBe('batch ÷ single: accepted 5.00 × faster, fully synced 2.00 × faster');
    expect(importRatio(runs.slice(0, 1))).toBeUndefined();
  });
});
