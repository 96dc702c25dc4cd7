import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { floorActivities } from './activities.js';

// C4's worker, a process of its own as the project's worker is, with the project's worker
// settings (passed by bench/floor/run.ts). It tells its parent when it polls and, every
// 250 ms, how many floor leads are done.

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`floor worker: ${name} is not set`);
  return value;
};
const send = (message: unknown) => process.send?.(message);

// Warnings only: the bench's progress lines are what the operator reads.
Runtime.install({ logger: new DefaultLogger('WARN') });
let done = 0;
const connection = await NativeConnection.connect({ address: env('FLOOR_TEMPORAL_ADDRESS') });
const activities = floorActivities(() => {
  done++;
});
const common = { connection, namespace: env('FLOOR_NAMESPACE'), activities } as const;
const main = await Worker.create({
  ...common,
  taskQueue: env('FLOOR_TASK_QUEUE'),
  workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
  maxConcurrentActivityTaskExecutions: Number(env('FLOOR_MAX_CONCURRENT_ACTIVITIES')),
  maxConcurrentWorkflowTaskExecutions: Number(env('FLOOR_MAX_CONCURRENT_WORKFLOW_TASKS')),
  maxCachedWorkflows: Number(env('FLOOR_MAX_CACHED_WORKFLOWS')),
});
const crm = await Worker.create({
  ...common,
  taskQueue: env('FLOOR_CRM_TASK_QUEUE'),
  maxConcurrentActivityTaskExecutions: Number(env('FLOOR_CRM_MAX_CONCURRENT')),
});
const timer = setInterval(() => send({ done }), 250);
process.on('disconnect', () => {
  main.shutdown();
  crm.shutdown();
});
send({ ready: true });
await Promise.all([main.run(), crm.run()]);
clearInterval(timer);
await connection.close();
