import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { BenchStack } from '../bench-stack.js';
import { onCleanup } from '../cleanup.js';
import { beginStep, log, runTail } from '../progress.js';
import { formatRate, formatSeconds } from '../stats.js';
import { FLOOR_WRITES, floorLead, floorWrite } from './workflows.js';

// C4, the floor as a ceiling (issue #24): `leads` floor leads (bench/floor/workflows.ts)
// driven the way seed-mix drives leads (each client creates a lead, then updates it, with
// `connections` clients), on the stack's own dev server, by a worker process with the
// stack's worker settings. Timed from the first create to the last lead done: what the
// engine alone allows end to end, for the project's own figure to be read against.

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));

export interface FloorResult {
  leads: number;
  writes: number;
  connections: number;
  /** From the first create to the last lead's last activity. */
  seconds: number;
  leadsPerS: number;
  writesPerS: number;
  /** The worker settings the floor ran with (the stack's). */
  worker: { maxConcurrentWorkflowTasks: number; maxConcurrentActivities: number; maxCachedWorkflows: number };
}

export async function runC4(stack: BenchStack, opts: { leads: number; connections: number; runId: string }): Promise<FloorResult> {
  const label = 'C4 floor';
  beginStep(label);
  const { config } = stack;
  const taskQueue = `floor-${opts.runId}`;
  const worker = {
    maxConcurrentWorkflowTasks: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivities: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  };
  const child = fork(WORKER_MAIN, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      FLOOR_TEMPORAL_ADDRESS: stack.temporalAddress,
      FLOOR_NAMESPACE: config.TEMPORAL_NAMESPACE,
      FLOOR_TASK_QUEUE: taskQueue,
      FLOOR_CRM_TASK_QUEUE: `${taskQueue}-crm`,
      FLOOR_MAX_CONCURRENT_WORKFLOW_TASKS: String(worker.maxConcurrentWorkflowTasks),
      FLOOR_MAX_CONCURRENT_ACTIVITIES: String(worker.maxConcurrentActivities),
      FLOOR_MAX_CACHED_WORKFLOWS: String(worker.maxCachedWorkflows),
      FLOOR_CRM_MAX_CONCURRENT: String(config.CRM_MAX_CONCURRENT_WRITES),
    },
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.disconnect();
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  const forget = onCleanup('C4 floor worker', stop);
  let done = 0;
  let ready = false;
  child.on('message', (m: { done?: number; ready?: boolean }) => {
    if (m.ready) ready = true;
    if (m.done !== undefined) done = m.done;
  });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    log(`${label}: starting its worker (bundling the floor workflow) …`);
    const readyBy = Date.now() + 120_000;
    while (!ready) {
      if (child.exitCode !== null) throw new Error(`${label}: its worker exited (${child.exitCode}) before polling`);
      if (Date.now() > readyBy) throw new Error(`${label}: its worker did not start in 120 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    log(`${label}: ${opts.leads} leads, each created then updated, by ${opts.connections} clients …`);
    const started = Date.now();
    let next = 0;
    const clientLoop = async () => {
      while (next < opts.leads) {
        const n = next++;
        const handle = await client.workflow.signalWithStart(floorLead, {
          workflowId: `${taskQueue}-${n}`,
          taskQueue,
          args: [`${taskQueue}-crm`],
          signal: floorWrite,
        });
        for (let w = 1; w < FLOOR_WRITES; w++) await handle.signal(floorWrite);
      }
    };
    const writing = Promise.all(Array.from({ length: opts.connections }, clientLoop));
    let lastLog = started;
    let written = false;
    void writing.then(() => {
      written = true;
    });
    while (done < opts.leads) {
      if (child.exitCode !== null) throw new Error(`${label}: its worker exited (${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        log(`${label}: ${done}/${opts.leads} leads done${written ? ' (all written)' : ''}, ${formatRate((done * 1000) / (lastLog - started))} leads/s${runTail()}`);
      }
    }
    await writing;
    const seconds = (Date.now() - started) / 1000;
    const result: FloorResult = {
      leads: opts.leads,
      writes: opts.leads * FLOOR_WRITES,
      connections: opts.connections,
      seconds,
      leadsPerS: opts.leads / seconds,
      writesPerS: (opts.leads * FLOOR_WRITES) / seconds,
      worker,
    };
    log(`${label}: ${opts.leads} leads in ${formatSeconds(seconds)}: ${formatRate(result.leadsPerS)} leads/s, ${formatRate(result.writesPerS)} writes/s`);
    return result;
  } finally {
    await connection.close();
    await stop();
    forget();
  }
}
