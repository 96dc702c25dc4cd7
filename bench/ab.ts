import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildRef, workingTree, type BuiltRef } from './ab/build.js';
import { renderAbChart } from './ab/chart.js';
import { renderAbMarkdown, roundOrder, type AbSample, type AbSide, type SideName } from './ab/compare.js';
import { measureLeadCost } from './ab/cost.js';
import { startSideStack } from './ab/side.js';
import { SideUsageMeter } from './ab/usage.js';
import { cleanupAll, installSignalHandlers } from './cleanup.js';
import { WriteLedger, resetSimulators, waitForDrain } from './drain.js';
import { runHttpLoad } from './load/http-load.js';
import { runUserLoad } from './load/user-load.js';
import { describeMachine } from './machine.js';
import { log } from './progress.js';
import { parseDuration } from './stats.js';
import { EmailSource, runId } from './workload.js';

// `npm run bench -- ab --base REF [--head REF]`: the seed-mix load against two builds in the
// same sitting on the same machine, rounds alternating which goes first, so a ratio between
// them holds on a noisy machine. Writes bench/results/<date>-ab[-tag].{md,json}.

export const AB_USAGE = `usage: npm run bench -- ab --base REF [options]

  --base REF          the build to compare against (a commit, branch or tag), e.g. main or 3cca4f3
  --head REF          the build under test (default: this working tree, uncommitted changes included)
  --rounds N          rounds; each runs both sides once (default 3)
  --duration D        measured seed-mix time per side and round (default 30s)
  --warmup D          warm-up before each measurement (default 5s)
  --connections N     concurrent users (default 50)
  --rate N            open loop: N requests per second over all users, instead of as fast as
                      answers come back (autocannon: each second's requests leave in one burst)
  --think D           users who pause a think time between requests (uniform in 0.5-1.5x D,
                      random start), e.g. 1s for the old design's 50 users; a GET follows its
                      write after one think time
  --crm-latency A-B   the CRM simulator answers each request after A to B (uniform), e.g. 5s-10s,
                      the old design's CRM; pair it with --env CRM_TIMEOUT_MS=15000
  --drain-timeout D   how long each side may take to drain after its load (default 5m)
  --env K=V           extra setting for both sides' processes (repeatable)
  --tag NAME          suffix for the result file names
  --out DIR           where results go (default bench/results)`;

interface AbOptions {
  base: string;
  head?: string;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  /** Open loop: requests per second over all connections. */
  rate?: number;
  /** Users with think time (ms) between requests instead of autocannon. */
  thinkMs?: number;
  /** CRM simulator latency, [min, max] ms. */
  crmLatencyMs?: [number, number];
  drainTimeoutS: number;
  env: Record<string, string>;
  tag?: string;
  outDir: string;
}

export function parseAbArgs(argv: readonly string[], defaultOut: string): AbOptions {
  const o: Partial<AbOptions> & { env: Record<string, string> } = { rounds: 3, durationS: 30, warmupS: 5, connections: 50, drainTimeoutS: 300, env: {}, outDir: defaultOut };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n\n${AB_USAGE}`);
    const count = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${value}`);
      return n;
    };
    switch (flag) {
      case '--base': o.base = value; break;
      case '--head': o.head = value; break;
      case '--rounds': o.rounds = count(); break;
      case '--duration': o.durationS = parseDuration(value); break;
      case '--warmup': o.warmupS = parseDuration(value); break;
      case '--connections': o.connections = count(); break;
      case '--rate': o.rate = count(); break;
      case '--think': o.thinkMs = parseDuration(value) * 1000; break;
      case '--crm-latency': {
        const parts = value.split('-').map((part) => parseDuration(part) * 1000);
        const min = parts[0] ?? 0;
        const max = parts[1] ?? min;
        if (parts.length > 2 || max < min) throw new Error(`--crm-latency takes MIN-MAX such as 5s-10s, got ${value}`);
        o.crmLatencyMs = [min, max];
        break;
      }
      case '--drain-timeout': o.drainTimeoutS = parseDuration(value); break;
      case '--tag': o.tag = value; break;
      case '--out': o.outDir = value; break;
      case '--env': {
        const eq = value.indexOf('=');
        if (eq <= 0) throw new Error(`--env needs KEY=VALUE, got ${value}`);
        o.env[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}\n\n${AB_USAGE}`);
    }
  }
  if (!o.base) throw new Error(`--base is required\n\n${AB_USAGE}`);
  return o as AbOptions;
}

async function measure(built: BuiltRef, side: SideName, round: number, o: AbOptions): Promise<AbSample> {
  log(`round ${round}, ${side} (${built.ref}, ${built.commit}): starting its stack …`);
  const stack = await startSideStack(built.root, side, o.env);
  try {
    await resetSimulators(stack.sim);
    if (o.crmLatencyMs) await setCrmLatency(stack.sim.crmUrl, o.crmLatencyMs);
    const ledger = new WriteLedger();
    const usage = new SideUsageMeter(stack.pid);
    usage.start();
    const loadStartedAt = Date.now();
    const common = {
      label: `${side} r${round}`,
      url: stack.apiUrl,
      warmupS: o.warmupS,
      durationS: o.durationS,
      timeoutS: 30,
      emails: new EmailSource(`ab${runId()}${side[0]}${round}`),
      ledger,
      sim: stack.sim,
      serverProcesses: stack.apiProcesses,
    };
    const run = o.thinkMs
      ? await runUserLoad({ ...common, users: o.connections, thinkMs: o.thinkMs })
      : await runHttpLoad({ ...common, connections: o.connections, ...(o.rate ? { overallRate: o.rate } : {}) });
    const loadEndedAt = Date.now();
    const loadSeconds = (loadEndedAt - loadStartedAt) / 1000;
    const drain = await waitForDrain(stack.sim, ledger, {
      loadEndedAt,
      timeoutMs: o.drainTimeoutS * 1000,
      onWait: (counts, expected) => log(`${side} r${round}: draining, ${Math.min(counts.contacts, counts.emails)}/${expected} leads in the CRM and the mailbox`),
    });
    const used = usage.stop();
    // Leads whose create and update were both acknowledged: seed-mix's unit of work.
    const counted = ledger
      .records()
      .flatMap((r) => (r.createAcked && r.acked >= 2 && r.leadId !== undefined ? [r.leadId] : []))
      .slice(0, 40);
    const cost = await measureLeadCost(stack.temporalAddress, counted);
    const route = (name: string) => run.routes.find((r) => r.route === name);
    const reads = [route('get'), route('task')].filter((r) => r !== undefined);
    const sample: AbSample = {
      side,
      round,
      rps: run.totals.rps,
      writeRps: run.totals.writeRps,
      successRate: run.totals.successRate,
      p50Ms: run.totals.latency.p50,
      p99Ms: run.totals.latency.p99,
      maxMs: run.totals.latency.max,
      readP50Ms: Math.max(0, ...reads.map((r) => r.latency.p50)),
      readP99Ms: Math.max(0, ...reads.map((r) => r.latency.p99)),
      historyReads: run.readSources.history ?? 0,
      reads: Object.values(run.readSources).reduce((a, b) => a + b, 0),
      drainSeconds: drain.drainSeconds,
      drained: drain.ok,
      leadsPerSecond: ledger.ackedCreates / (loadSeconds + drain.drainSeconds),
      cost,
      usage: used,
      leads: ledger.ackedCreates,
    };
    log(`round ${round}, ${side}: ${sample.rps.toFixed(1)} req/s, p99 ${sample.p99Ms.toFixed(0)} ms, success ${(sample.successRate * 100).toFixed(2)}%, drained in ${drain.drainSeconds.toFixed(1)} s${drain.ok ? '' : ' (NOT drained)'}`);
    return sample;
  } finally {
    await stack.stop();
  }
}

async function setCrmLatency(crmUrl: string, [min, max]: [number, number]): Promise<void> {
  const res = await fetch(`${crmUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ latencyMs: min, latencyJitterMs: max - min }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`CRM simulator refused the latency setting: ${res.status} ${await res.text()}`);
}

/** Runs the A/B benchmark; returns the process exit code. */
export async function runAb(argv: readonly string[], repo: string): Promise<number> {
  let o: AbOptions;
  try {
    o = parseAbArgs(argv, join(repo, 'bench', 'results'));
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  installSignalHandlers();
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  try {
    const base = await buildRef(repo, o.base);
    const head = o.head ? await buildRef(repo, o.head) : workingTree(repo);
    const builds: Record<SideName, BuiltRef> = { base, head };
    const samples: AbSample[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const side of roundOrder(round)) samples.push(await measure(builds[side], side, round, o));
    }
    const sides: AbSide[] = (['base', 'head'] as const).map((name) => ({ name, ref: builds[name].ref, commit: builds[name].commit }));
    const name = `${startedAt.slice(0, 10)}-ab${o.tag ? `-${o.tag}` : ''}`;
    const markdown = renderAbMarkdown({
      startedAt,
      machine: `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb.toFixed(0)} GB, Node ${machine.node}, Temporal CLI ${machine.temporal}`,
      command: `npm run bench -- ab ${argv.join(' ')}`,
      connections: o.connections,
      ...(o.rate ? { rate: o.rate } : {}),
      ...(o.thinkMs ? { thinkMs: o.thinkMs } : {}),
      ...(o.crmLatencyMs ? { crmLatencyMs: o.crmLatencyMs } : {}),
      durationS: o.durationS,
      warmupS: o.warmupS,
      sides,
      samples,
      chart: `${name}.svg`,
    });
    const outDir = resolve(o.outDir);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `${name}.svg`), `${renderAbChart(`A/B seed-mix: ${sides[1]!.ref} against ${sides[0]!.ref}`, samples)}\n`);
    writeFileSync(join(outDir, `${name}.md`), `${markdown}\n`);
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ startedAt, machine, options: o, sides, samples }, null, 2)}\n`);
    console.log(`\n${markdown}\n\nreport: ${relative(process.cwd(), join(outDir, `${name}.md`))}`);
    return 0;
  } catch (err) {
    console.error(`bench ab: ${(err as Error).message}`);
    return 1;
  } finally {
    await cleanupAll();
  }
}
