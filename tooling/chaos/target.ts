import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type Config } from '../../src/config.js';
import type { CrmFaults } from '../simulators/crm-simulator.js';
import type { SmtpFaults, SmtpSinkStats } from '../simulators/smtp-sink.js';
import { startStack, type RunningStack } from '../stack/stack.js';
import type { ManagedChild } from '../stack/supervisor.js';
import { getFreePort } from '../temporal/ports.js';
import { chaosCrm, type ChaosCrm, type CrmCounters, type CrmName } from './crm.js';
import type { FaultActions } from './faults.js';
import { getJson, sendJson } from './http.js';
import type { ContactView, MailView } from './invariants.js';
import type { Random } from './random.js';

/**
 * The stack under test: the real processes (Temporal dev server on a fresh SQLite file,
 * CRM simulator (REST or HubSpot), SMTP sink, supervised worker, API with node:cluster processes) started
 * through startStack on free loopback ports, plus the levers the fault runner pulls and
 * the read-outs the checks need.
 */

export interface TargetOptions {
  dataDir: string;
  /** Settings for every process (retry intervals, timeouts, …) on top of the ports. */
  env: Record<string, string>;
  apiProcesses: number;
  crm: CrmName;
  /** HubSpot's rolling limit, requests per 10 s, for its simulator and the workers alike (with `crm` hubspot). */
  hubspotPer10s: number;
  /** The REST CRM simulator's own limit (PUTs per sliding second); 0 = none. */
  crmRateLimit: number;
  /** CRM writes per sliding second for all worker processes together (CRM_RATE_LIMIT_PER_SECOND). */
  workerCrmRate: number;
  workerProcesses: number;
  /** A worker is killed only once it has run this long, so the kill lands on a working worker. */
  workerMinUptimeMs: number;
  random: Random;
  onFatal: (message: string) => void;
  say: (line: string) => void;
}

export interface Target {
  stack: RunningStack;
  config: Config;
  env: Record<string, string>;
  crm: ChaosCrm;
  smtpUrl: string;
  messageIdDomain: string;
  actions: FaultActions;
  setCrmFaults(faults: Partial<CrmFaults>): Promise<void>;
  setSmtpFaults(faults: Partial<SmtpFaults>): Promise<void>;
  clearFaults(): Promise<void>;
  crmStats(): Promise<CrmCounters>;
  smtpStats(): Promise<SmtpSinkStats>;
  contacts(): Promise<ContactView[]>;
  messages(): Promise<MailView[]>;
  /** API processes (cluster workers) right now. */
  apiProcesses(): number[];
  stop(): Promise<void>;
}

export async function startTarget(options: TargetOptions): Promise<Target> {
  const env = await targetEnv(options);
  const config = loadConfig({ ...process.env, ...env });
  const stack = await startStack(config, {
    env,
    temporalLogFile: join(options.dataDir, 'temporal.log'),
    onFatal: options.onFatal,
  });
  const crm = chaosCrm(options.crm, { url: config.CRM_BASE_URL.replace(/\/+$/, ''), timeoutMs: config.CRM_TIMEOUT_MS, say: options.say });
  const smtpUrl = `http://${config.SMTP_HOST}:${config.SMTP_SINK_HTTP_PORT}`;
  const crmStats = () => crm.stats();
  const apiProcesses = () => (stack.api.pid ? childrenOf(stack.api.pid) : []);

  return {
    stack,
    config,
    env,
    crm,
    smtpUrl,
    messageIdDomain: config.MESSAGE_ID_DOMAIN,
    actions: createFaultActions(stack, options, crmStats, apiProcesses),
    setCrmFaults: (faults) => crm.setFaults(faults),
    setSmtpFaults: async (faults) => void (await sendJson('POST', `${smtpUrl}/_sim/faults`, faults)),
    async clearFaults() {
      await crm.clearFaults();
      await sendJson('DELETE', `${smtpUrl}/_sim/faults`);
    },
    crmStats,
    smtpStats: () => getJson<SmtpSinkStats>(`${smtpUrl}/_sim/stats`),
    contacts: () => crm.contacts(),
    messages: async () => (await getJson<{ messages: MailView[] }>(`${smtpUrl}/messages`, 120_000)).messages,
    apiProcesses,
    stop: () => stack.stop(),
  };
}

/** Every process's settings: free loopback ports for each listener, then the run's own settings. */
async function targetEnv(options: TargetOptions): Promise<Record<string, string>> {
  const port = () => getFreePort('127.0.0.1');
  return {
    HOST: '127.0.0.1',
    PORT: String(await port()),
    OPS_PORT: String(await port()),
    API_PROCESSES: String(options.apiProcesses),
    TEMPORAL_ADDRESS: `127.0.0.1:${await port()}`,
    TEMPORAL_UI_PORT: String(await port()),
    TEMPORAL_DB_FILE: join(options.dataDir, 'temporal.sqlite'),
    TEMPORAL_START_DEV_SERVER: 'true',
    CRM_BASE_URL: `http://127.0.0.1:${await port()}`,
    CRM_START_SIMULATOR: 'true',
    CRM_SIM_RATE_LIMIT: String(options.crmRateLimit),
    CRM_RATE_LIMIT_PER_SECOND: String(options.workerCrmRate),
    ...(options.crm === 'hubspot'
      ? { CRM_ADAPTER: 'hubspot', HUBSPOT_SIM_PER_10S: String(options.hubspotPer10s), HUBSPOT_REQUESTS_PER_10S: String(options.hubspotPer10s) }
      : {}),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(await port()),
    SMTP_SINK_HTTP_PORT: String(await port()),
    SMTP_START_SINK: 'true',
    WORKER_PROCESSES: String(options.workerProcesses),
    LOG_LEVEL: 'error',
    ...options.env,
  };
}

/** The levers the fault runner pulls on this stack. */
function createFaultActions(
  stack: RunningStack,
  options: TargetOptions,
  crmStats: () => Promise<CrmCounters>,
  apiProcesses: () => number[],
): FaultActions {
  const worker = stack.workers[0]!;
  return {
    killWorker: ({ midActivity }) => killWorker(worker, options.workerMinUptimeMs, midActivity, crmStats),
    async restartServer(downtimeMs) {
      const { stoppedAt, readyAt } = await stack.restartTemporal({ signal: 'SIGKILL', downtimeMs });
      return { at: stoppedAt, recoveredAt: readyAt, detail: `Temporal dev server SIGKILLed, down ${readyAt - stoppedAt} ms, restarted on the same SQLite file` };
    },
    sigtermApi: () => sigtermApi(stack, options.random, apiProcesses),
  };
}

type KillOutcome = Awaited<ReturnType<FaultActions['killWorker']>>;
type SigtermOutcome = Awaited<ReturnType<FaultActions['sigtermApi']>>;

async function killWorker(
  worker: ManagedChild,
  minUptimeMs: number,
  midActivity: boolean,
  crmStats: () => Promise<CrmCounters>,
): Promise<KillOutcome> {
  // Let a freshly restarted worker get going first: the point is to kill one mid-work.
  await waitFor(() => {
    const pid = worker.pid;
    return pid !== undefined && (processAgeMs(pid) ?? 0) >= minUptimeMs;
  }, 120_000);
  const crmInFlight = await crmCallsInFlight(crmStats, midActivity ? 10_000 : 0);
  const pid = worker.pid;
  const at = Date.now();
  worker.kill();
  const recoveredAt = await waitFor(() => worker.pid !== undefined && worker.pid !== pid, 120_000);
  const detail = `worker pid ${pid} SIGKILLed (${crmInFlight} CRM call(s) in flight); ${
    recoveredAt ? `supervisor restarted it as pid ${worker.pid} after ${recoveredAt - at} ms` : 'NOT restarted within 120 s'
  } (restarts so far: ${worker.restarts})`;
  return { at, detail, crmInFlight, ...(recoveredAt ? { recoveredAt } : {}) };
}

/** CRM calls in flight now, or as soon as there are some within `lookMs`; -1 when the simulator did not say. */
async function crmCallsInFlight(crmStats: () => Promise<CrmCounters>, lookMs: number): Promise<number> {
  let crmInFlight = -1;
  const lookUntil = Date.now() + lookMs;
  do {
    crmInFlight = (await crmStats().catch(() => undefined))?.inFlight ?? -1;
    if (crmInFlight > 0 || Date.now() >= lookUntil) break;
    await sleep(25);
  } while (Date.now() < lookUntil);
  return crmInFlight;
}

async function sigtermApi(stack: RunningStack, random: Random, apiProcesses: () => number[]): Promise<SigtermOutcome> {
  const before = apiProcesses();
  if (before.length === 0) throw new Error(`no API processes found under pid ${stack.api.pid}`);
  const victim = random.pick(before);
  const at = Date.now();
  process.kill(victim, 'SIGTERM');
  const recoveredAt = await waitFor(() => {
    const now = apiProcesses();
    return !now.includes(victim) && now.length >= before.length;
  }, 60_000);
  const detail = `API process ${victim} SIGTERMed (of ${before.join(', ')}); ${
    recoveredAt ? `replaced by ${apiProcesses().filter((p) => !before.includes(p)).join(', ')} after ${recoveredAt - at} ms` : 'NOT replaced within 60 s'
  }`;
  return { at, detail, ...(recoveredAt ? { recoveredAt } : {}) };
}

/** Polls `check` until it holds; the time it did, or undefined after `timeoutMs`. */
async function waitFor(check: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return Date.now();
    await sleep(100);
  }
  return undefined;
}

/** Child pids of a process, from /proc (every thread's `children` file). */
export function childrenOf(pid: number): number[] {
  const pids = new Set<number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const p of text.split(/\s+/)) if (p) pids.add(Number(p));
    }
  } catch {
    // the process is gone
  }
  return [...pids].filter((p) => isAlive(p)).sort((a, b) => a - b);
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie (Z) has exited already.
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** How long ago a process started, from /proc (clock ticks assumed 100 Hz, as on Linux). */
export function processAgeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Math.round(uptimeSeconds * 1000 - startTicks * 10);
  } catch {
    return undefined;
  }
}
