import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { repoRoot } from '../tooling/temporal/binary.js';
import { parseArgs, UsageError, USAGE } from './args.js';
import { chartInputFromReport, renderChart } from './chart.js';
import { cleanupAll, installSignalHandlers } from './cleanup.js';
import { describeMachine, gitInfo, loadAverage } from './machine.js';
import { benchPlan } from './plan.js';
import { log, planRun } from './progress.js';
import { renderConsole, renderMarkdown } from './report.js';
import type { BenchReport, Ctx } from './scenarios/context.js';
import { clusterScenario } from './scenarios/cluster.js';
import { importScenario } from './scenarios/import.js';
import { openLoopOn, openLoopScenario } from './scenarios/open-loop.js';
import { scaleScenario } from './scenarios/scale.js';
import { ceilingsScenario, seedMixScenario } from './scenarios/seed-mix.js';
import { tuneScenario } from './scenarios/tune.js';
import { evaluateTargets } from './targets.js';
import { timelineChartOf } from './timeline-chart.js';
import { runId } from './workload.js';

// `npm run bench -- [scenario] [options]`: wires the scenarios, writes
// bench/results/<date>-<scenario>.{json,md,svg} and prints the comparison table.

const root = repoRoot() ?? process.cwd();

// `npm run bench -- crm …`: the vendor CRM connectors against their simulators (bench/crm.ts).
if (process.argv[2] === 'crm') {
  const { runCrmBench } = await import('./crm.js');
  process.exit(await runCrmBench(process.argv.slice(3), root));
}

// `npm run bench -- ab …`: two builds against each other (bench/ab.ts).
if (process.argv[2] === 'ab') {
  const { runAb } = await import('./ab.js');
  process.exit(await runAb(process.argv.slice(3), root));
}

let options;
try {
  options = parseArgs(process.argv.slice(2), join(root, 'bench', 'results'));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options === 'help') {
  console.log(USAGE);
  process.exit(0);
}

const report: BenchReport = {
  scenario: options.scenario,
  startedAt: new Date().toISOString(),
  machine: describeMachine(),
  git: gitInfo(root),
  loadavg: { start: loadAverage() },
  options,
  rss: [],
  drainChecks: [],
  targets: [],
  failures: [],
};
const ctx: Ctx = { options, report, runId: runId() };
const opts = options;

/**
 * Evaluates the targets and writes the JSON, Markdown and SVG; returns the file paths. An
 * interrupted run writes `…-partial.*`, so it never replaces a complete summary.
 */
function writeReport(partial = false): { json: string; md: string; svg: string; timeline: string } {
  report.finishedAt = new Date().toISOString();
  report.loadavg.end = loadAverage();
  report.targets = evaluateTargets({
    ...(report.seedMix ? { seedMix: report.seedMix } : {}),
    ...(report.c2 ? { c2: report.c2 } : {}),
    ...(report.c3 ? { c3: { leads: report.c3.leads, rate: report.c3.rate, steadyRate: report.c3.steadyRate } } : {}),
    ...(report.c4 ? { c4: report.c4 } : {}),
    ...(report.openLoop ? { openLoop: report.openLoop } : {}),
    rss: report.rss,
    drainChecks: report.drainChecks,
  });
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  // A seed-mix of another length than the default gets its own file (e.g. -10m) unless tagged,
  // an import one per lead count (e.g. -10000).
  const length = (opts.scenario === 'seed-mix' || opts.scenario === 'all') && opts.durationS !== 60 && !opts.tag
    ? `-${opts.durationS % 60 === 0 ? `${opts.durationS / 60}m` : `${opts.durationS}s`}`
    : '';
  const leadCount = opts.scenario === 'import' && !opts.tag ? `-${opts.importLeads}` : '';
  const base = `${report.startedAt.slice(0, 10)}-${opts.scenario}${opts.tag ? `-${opts.tag}` : ''}${length}${leadCount}${partial ? '-partial' : ''}`;
  const files = { json: join(outDir, `${base}.json`), md: join(outDir, `${base}.md`), svg: join(outDir, `${base}.svg`), timeline: join(outDir, `${base}-timeline.svg`) };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.svg, renderChart(chartInputFromReport(report)));
  writeFileSync(files.timeline, timelineChartOf(report));
  writeFileSync(files.md, `${renderMarkdown(report, `${base}.svg`, `${base}-timeline.svg`)}\n`);
  return files;
}

// Interrupted: keep what was measured, marked as such.
installSignalHandlers((signal) => {
  report.failures.push(`interrupted by ${signal}: the figures below are partial`);
  const files = writeReport(true);
  console.error(`bench: partial report in ${relative(process.cwd(), files.md)}`);
});
planRun(benchPlan(options));
log(`scenario ${options.scenario} on ${report.machine.cpus} × ${report.machine.cpuModel}; load average ${report.loadavg.start.map((l) => l.toFixed(2)).join(' ')}`);

try {
  switch (options.scenario) {
    case 'seed-mix':
      await seedMixScenario(ctx, { withCeilings: options.ceilings });
      break;
    case 'ceilings':
      await ceilingsScenario(ctx);
      break;
    case 'open-loop':
      await openLoopScenario(ctx);
      break;
    case 'scale':
      await scaleScenario(ctx);
      break;
    case 'tune':
      await tuneScenario(ctx);
      break;
    case 'import':
      await importScenario(ctx);
      break;
    case 'cluster':
      await clusterScenario(ctx);
      break;
    case 'all':
      await seedMixScenario(ctx, { withCeilings: true, then: (stack) => openLoopOn(ctx, stack) });
      await scaleScenario(ctx);
      await tuneScenario(ctx);
      break;
  }
} catch (err) {
  console.error(err);
  report.failures.push(`aborted: ${(err as Error).message.split('\n')[0]}`);
} finally {
  await cleanupAll();
}

const files = writeReport();

console.log(renderConsole(report));
console.log(`\nreport: ${relative(process.cwd(), files.md)}\nchart:  ${relative(process.cwd(), files.svg)}\ntime:   ${relative(process.cwd(), files.timeline)}\nraw:    ${relative(process.cwd(), files.json)}`);
process.exit(report.failures.length > 0 ? 1 : 0);
