import { availableParallelism } from 'node:os';
import { parseArgs as nodeParseArgs } from 'node:util';
import type { BenchOptions } from './scenarios/context.js';
import { parseDuration } from './stats.js';
import { DURABLE_WAL } from '../tooling/stack/stack.js';
import { parseArgsMessage } from '../tooling/parse-args-error.js';

// Command line: `npm run bench -- [scenario] [--duration 10m] [--connections 50] …`. Pure.

export const SCENARIOS = ['seed-mix', 'ceilings', 'open-loop', 'scale', 'tune', 'import', 'cluster', 'all'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export const USAGE = `usage: npm run bench -- [scenario] [options]

scenarios:
  seed-mix   (default) the old design's stress test against the API, with ceilings C0, C2, C3, C4
             and a drain check after every load run
  ceilings   only C0 (bare Fastify), C2 (raw Temporal client), C3 (worker drain rate) and C4
             (the floor: the least a lead costs on this engine)
  open-loop  fixed arrival rates at 25/50/75% of the C2 write ceiling, API vs raw client
  scale      1 and 2 API processes x 1 and 2 workers; read latency of a lead with 1 vs 1,000 updates
  tune       C2 and C3 under dev-server settings (SQLite pragmas, shard I/O, memory) and worker concurrency
  import     --leads leads imported and fully synced (CRM + welcome email) through POST /api/leads/batch,
             then the same leads one POST each, each on a fresh stack; times, leads/s and their ratio
  cluster    the local cluster (npm run cluster: PostgreSQL, Temporal as frontend, matching and two
             history processes, API and workers on two hosts) against the dev server, in one run:
             seed-mix, C2 and C3 on each, with CPU seconds per process role (needs root and Go)
  all        seed-mix with ceilings, open-loop, scale and tune

options:
  --duration D           seed-mix measured time (default 60s; 10m reproduces the old 10-minute run)
  --warmup D             warm-up before seed-mix (default 10s)
  --connections N        concurrent connections / users (default 50)
  --think D              seed-mix as users who pause D (uniform 0.5-1.5x) between requests, the old
                         design's 50 users at 1s; the report adds a per-minute table (latency per
                         route, memory per process)
  --ceiling-duration D   measured time of C0 and C2 (default 30s)
  --no-ceilings          seed-mix without C0, C2 and C3
  --floor-leads N        leads of C4, the floor: the least a lead costs on the same server and
                         worker settings, each created and updated once (default 2000)
  --c3-leads N           leads preloaded for the worker drain rate (default: about 30 s of work at
                         the rate the stack processed leads so far, 200 to 1000)
  --open-duration D      measured time per open-loop rate (default 30s)
  --open-rates a,b,c     shares of the C2 write ceiling (default 0.25,0.5,0.75)
  --scale-duration D     measured seed-mix time per scale configuration (default 30s)
  --tune-duration D      measured C2 time per tuning setting (default 20s)
  --can-updates N        updates of the long-lived lead in the scale scenario (default 1000)
  --leads N              leads the import scenario sends down each path (default 10000)
  --api-processes N      API processes (default: the stack's default, min(CPUs, 4))
  --worker-processes N   worker processes (default 1)
  --sqlite-pragma K=V    dev-server SQLite pragma, repeatable (journal_mode, synchronous; default: the
                         stack's journal_mode=wal, synchronous=full)
  --dynamic-config K=V   dev-server dynamic config value (JSON), repeatable
  --timeout D            request timeout of the load generator (default 30s)
  --drain-timeout D      how long a drain check waits (default 5m, or twice the seed-mix time
                         with its warm-up when that is longer: the backlog grows with the run;
                         for import, at least 0.2 s per lead)
  --out DIR              where results go (default bench/results)
  --tag NAME             suffix for the result file names (e.g. wal-full)
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function duration(name: string, value: string): number {
  try {
    const s = parseDuration(value);
    if (s <= 0) throw new Error('must be positive');
    return s;
  } catch (err) {
    throw new UsageError(`${name}: ${(err as Error).message}`);
  }
}

export function defaultOptions(outDir: string): BenchOptions {
  return {
    scenario: 'seed-mix',
    connections: 50,
    durationS: 60,
    warmupS: 10,
    ceilingDurationS: 30,
    ceilings: true,
    c3Leads: undefined,
    floorLeads: 2000,
    openLoopDurationS: 30,
    openLoopFractions: [0.25, 0.5, 0.75],
    scaleDurationS: 30,
    tuneDurationS: 20,
    canUpdates: 1000,
    importLeads: 10_000,
    apiProcesses: Math.min(availableParallelism(), 4),
    workerProcesses: 1,
    // The stack's own default (src/stack/stack.ts), so the benchmark measures what users run.
    sqlitePragmas: { ...DURABLE_WAL },
    dynamicConfig: {},
    timeoutS: 30,
    drainTimeoutS: 300,
    outDir,
  };
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  connections: { type: 'string' },
  think: { type: 'string' },
  'ceiling-duration': { type: 'string' },
  'no-ceilings': { type: 'boolean' },
  'c3-leads': { type: 'string' },
  'floor-leads': { type: 'string' },
  'open-duration': { type: 'string' },
  'open-rates': { type: 'string' },
  'scale-duration': { type: 'string' },
  'tune-duration': { type: 'string' },
  'can-updates': { type: 'string' },
  leads: { type: 'string' },
  'api-processes': { type: 'string' },
  'worker-processes': { type: 'string' },
  'sqlite-pragma': { type: 'string', multiple: true },
  'dynamic-config': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'drain-timeout': { type: 'string' },
  out: { type: 'string' },
  tag: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommandLine>['values'];

function parseCommandLine(argv: readonly string[]) {
  try {
    return nodeParseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
}

export function parseArgs(argv: readonly string[], outDir: string): BenchOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { values, positionals } = parseCommandLine(argv);
  const opts = defaultOptions(outDir);
  opts.scenario = scenarioOf(positionals) ?? opts.scenario;
  applyDurations(opts, values);
  applyCounts(opts, values);
  if (values['no-ceilings']) opts.ceilings = false;
  if (values.think !== undefined) opts.thinkMs = duration('--think', values.think) * 1000;
  if (values['open-rates'] !== undefined) {
    const shares = values['open-rates'].split(',').map(Number);
    if (shares.some((s) => !(s > 0 && s <= 2))) throw new UsageError('--open-rates takes shares such as 0.25,0.5,0.75');
    opts.openLoopFractions = shares;
  }
  for (const pragma of values['sqlite-pragma'] ?? []) setPragma(opts, pragma);
  for (const pair of values['dynamic-config'] ?? []) setDynamicConfig(opts, pair);
  if (values.out !== undefined) opts.outDir = values.out;
  if (values.tag !== undefined) {
    if (!/^[a-z0-9][a-z0-9._-]{0,40}$/i.test(values.tag)) throw new UsageError('--tag takes letters, digits, . _ -');
    opts.tag = values.tag;
  }
  if (values['drain-timeout'] === undefined) {
    // An import's backlog is all its leads at once: allow the worker 5 leads/s at the least.
    const importS = opts.scenario === 'import' ? opts.importLeads / 5 : 0;
    opts.drainTimeoutS = Math.max(opts.drainTimeoutS, 2 * (opts.durationS + opts.warmupS), importS);
  }
  return opts;
}

function scenarioOf(positionals: string[]): Scenario | undefined {
  if (positionals.length > 1) throw new UsageError(`only one scenario at a time (got "${positionals[0]}" and "${positionals[1]}")`);
  const name = positionals[0];
  if (name === undefined) return undefined;
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario "${name}" (one of ${SCENARIOS.join(', ')})`);
  return name as Scenario;
}

const DURATIONS = {
  duration: 'durationS',
  'ceiling-duration': 'ceilingDurationS',
  'open-duration': 'openLoopDurationS',
  'scale-duration': 'scaleDurationS',
  'tune-duration': 'tuneDurationS',
  timeout: 'timeoutS',
  'drain-timeout': 'drainTimeoutS',
} as const satisfies Partial<Record<keyof Values, keyof BenchOptions>>;

const COUNTS = {
  connections: 'connections',
  'c3-leads': 'c3Leads',
  'floor-leads': 'floorLeads',
  'can-updates': 'canUpdates',
  leads: 'importLeads',
  'api-processes': 'apiProcesses',
  'worker-processes': 'workerProcesses',
} as const satisfies Partial<Record<keyof Values, keyof BenchOptions>>;

function applyDurations(opts: BenchOptions, values: Values): void {
  for (const [name, field] of Object.entries(DURATIONS) as Array<[keyof typeof DURATIONS, (typeof DURATIONS)[keyof typeof DURATIONS]]>) {
    const raw = values[name];
    if (raw !== undefined) opts[field] = duration(`--${name}`, raw);
  }
  const warmup = values.warmup;
  if (warmup !== undefined) opts.warmupS = /^0+(s|ms|m)?$/.test(warmup.trim()) ? 0 : duration('--warmup', warmup);
}

function applyCounts(opts: BenchOptions, values: Values): void {
  for (const [name, field] of Object.entries(COUNTS) as Array<[keyof typeof COUNTS, (typeof COUNTS)[keyof typeof COUNTS]]>) {
    const raw = values[name];
    if (raw !== undefined) opts[field] = positiveInt(`--${name}`, raw);
  }
}

function setPragma(opts: BenchOptions, pragma: string): void {
  const m = /^(journal_mode|synchronous)=([A-Za-z]+)$/i.exec(pragma);
  if (!m) throw new UsageError('--sqlite-pragma takes journal_mode=<mode> or synchronous=<level>');
  opts.sqlitePragmas[m[1]!.toLowerCase()] = m[2]!.toLowerCase();
}

function setDynamicConfig(opts: BenchOptions, pair: string): void {
  const eq = pair.indexOf('=');
  if (eq < 1) throw new UsageError('--dynamic-config takes key=<JSON value>');
  try {
    opts.dynamicConfig[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
  } catch {
    throw new UsageError(`--dynamic-config ${pair}: the value must be JSON (e.g. history.shardIOConcurrency=4)`);
  }
}
