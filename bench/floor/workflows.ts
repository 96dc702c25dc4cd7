import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './activities.js';

// C4, the floor: the least a seed-mix lead can cost on this engine. Like a lead it is
// started by signal-with-start (the create) and signalled once more (the update); each batch
// of signals it wakes up for runs one activity on its own queue and one on a second queue
// (the lead's CRM write and email), and it ends after both writes. Nothing is read, stored
// or published: what is left is Temporal's own work per lead.

export const floorWrite = defineSignal('floorWrite');

/** Two writes (create + update), as a seed-mix lead has. */
export const FLOOR_WRITES = 2;

export async function floorLead(crmTaskQueue: string): Promise<void> {
  const main = proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });
  const crm = proxyActivities<FloorActivities>({ startToCloseTimeout: '1 minute', taskQueue: crmTaskQueue });
  let received = 0;
  let applied = 0;
  setHandler(floorWrite, () => {
    received++;
  });
  while (applied < FLOOR_WRITES) {
    await condition(() => received > applied);
    applied = received;
    await main.noop(false);
    await crm.noop(applied >= FLOOR_WRITES);
  }
}
