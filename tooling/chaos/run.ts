import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, StepPlan } from '../../scripts/elapsed.mjs';
import { chaosPlan, type ChaosOptions } from './options.js';
import { seededRandom, type Random } from './random.js';
import { detailLines, summaryLine, type ChaosResult, type Say } from './report.js';
import { runScenario, type ScenarioContext } from './scenario.js';
import { startTarget, type Target, type TargetOptions } from './target.js';

/**
 * A chaos run: one stack, then per scenario a fresh set of leads driven through the API
 * while that scenario's faults fire, a drain, and the checks on that scenario's leads.
 */

let active: Target | undefined;

/** For Ctrl-C: stops the stack of the run in progress (its processes, Temporal last). */
export async function stopActiveStack(): Promise<void> {
  await active?.stop();
}

/** For a second signal: SIGKILLs every process of the stack at once, so none is left behind. */
export function killActiveStackNow(): void {
  if (!active) return;
  for (const child of active.stack.children) {
    child.markStopping();
    child.kill();
  }
  active.stack.temporal?.process.kill('SIGKILL');
}

export async function runChaos(options: ChaosOptions, say: Say): Promise<ChaosResult> {
  const started = Date.now();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'chaos-'));
  mkdirSync(dataDir, { recursive: true });
  const random = seededRandom(options.seed);
  const result: ChaosResult = {
    ok: false,
    seed: options.seed,
    profile: options.profile,
    dataDir,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    scenarios: [],
  };
  let fatal: string | undefined;
  say(`seed ${options.seed}, profile ${options.profile}, CRM ${options.crm}, scenarios ${options.scenarios.join(', ')}, data in ${dataDir}`);
  let target: Target | undefined;
  try {
    const onFatal = (message: string) => {
      fatal = message;
      say(`FATAL: ${message}`);
    };
    target = await startTarget(targetOptions(options, dataDir, random, onFatal, say));
    active = target;
    say(`stack up: API ${target.stack.apiUrl} (${options.apiProcesses} processes), Temporal ${target.stack.temporalAddress}, CRM ${target.crm.name} ${target.crm.url}, SMTP sink ${target.smtpUrl}`);
    const plan = new StepPlan(chaosPlan(options), started);
    say(`plan: ${options.scenarios.length} scenario(s), a load and a drain each; at most ${formatDuration(plan.totalPlannedS)} (drains usually end sooner)`);
    const ctx: ScenarioContext = { target, options, random, say, fatal: () => fatal, plan };
    for (const [n, scenario] of options.scenarios.entries()) {
      const runTag = `${options.seed.toString(36)}${n}${scenario.replace(/[^a-z]/g, '').slice(0, 6)}`;
      const scenarioResult = await runScenario(ctx, scenario, runTag);
      result.scenarios.push(scenarioResult);
      say(summaryLine(scenarioResult));
      for (const line of detailLines(scenarioResult)) say(line);
      if (fatal) break;
    }
    if (fatal) result.error = fatal;
    result.ok = !fatal && result.scenarios.length === options.scenarios.length && result.scenarios.every((s) => s.checks.every((c) => c.ok));
  } catch (err) {
    result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    say(`run failed: ${result.error}`);
  } finally {
    active = undefined;
    await target?.stop().catch((err: unknown) => say(`stopping the stack: ${String(err)}`));
    if (!options.keepData && result.ok) rmSync(dataDir, { recursive: true, force: true });
    result.durationMs = Date.now() - started;
  }
  return result;
}

function targetOptions(options: ChaosOptions, dataDir: string, random: Random, onFatal: (message: string) => void, say: Say): TargetOptions {
  return {
    dataDir,
    env: options.env,
    apiProcesses: options.apiProcesses,
    crm: options.crm,
    hubspotPer10s: options.hubspotPer10s,
    crmRateLimit: options.crmRateLimit,
    workerCrmRate: options.workerCrmRate,
    workerProcesses: options.workerProcesses,
    workerMinUptimeMs: options.workerMinUptimeMs,
    random,
    onFatal,
    say,
  };
}
