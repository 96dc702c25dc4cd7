import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { figuresSections } from '../../tooling/docs/bench-figures.js';

describe('figuresSections', () => {
  it('finds figure tables and the reports a section links to', () => {
    const md = [
      '## Scenarios',
      '| command | what |',
      '| --- | --- |',
      '| `npm run bench` | all |',
      '## Run A',
      'See [report](results/a.md) and `results/b.md`.',
      '### Detail',
      '| side | req/s |',
      '| --- | ---: |',
      '| head | **101** |',
      '## Run B',
      '<!-- figures without a report: printed by a script -->',
      '| x | s |',
      '| --- | --- |',
      '| y | 32.4 s |',
    ].join('\n');
    expect(figuresSections(md)).toEqual([
      { title: 'Scenarios', hasFigures: false, reports: [], noReportReason: undefined },
      { title: 'Run A', hasFigures: true, reports: ['bench/results/a.md'], noReportReason: undefined },
      { title: 'Run B', hasFigures: true, reports: [], noReportReason: 'printed by a script' },
    ]);
  });
});

describe('bench/README.md', () => {
  const sections = figuresSections(readFileSync('bench/README.md', 'utf8'));

  it('links each section of figures to a report under bench/results/ that exists', () => {
    expect(sections.filter((s) => s.hasFigures).length).toBeGreaterThan(3);
    const unsourced = sections
      .filter((s) => s.hasFigures && s.noReportReason === undefined)
      .filter((s) => !s.reports.some((report) => existsSync(report)))
      .map((s) => `## ${s.title}: links no existing bench/results/*.md (linked: ${s.reports.join(', ') || 'none'})`);
    expect(unsourced).toEqual([]);
  });

  it('has every linked report on disk', () => {
    const missing = sections.flatMap((s) => s.reports).filter((report) => !existsSync(report));
    expect(missing).toEqual([]);
  });
});
