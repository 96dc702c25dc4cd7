import { setTimeout as sleep } from 'node:timers/promises';
import { timeText } from '../../scripts/elapsed.mjs';
import { ApiError, createClient, TransportError, type Client, type Task } from '../../src/client/index.js';
import { httpTransport, keepAliveAgent } from './http.js';
import { compareContact, welcomeMessageId, type TaskView } from './invariants.js';
import type { LeadRecord } from './load.js';
import type { Say } from './report.js';
import type { Target } from './target.js';

/** After the load: wait for the stack to catch up before the checks read the outside world. */

/** What a drain reads: the API it asks about tasks, and the fakes' view of the outside world. */
export type Observed = Pick<Target, 'contacts' | 'messages' | 'messageIdDomain'> & { apiUrl: string };

export interface Drained {
  /** Every acknowledged task ended before the deadline. */
  complete: boolean;
  tasks: TaskView[];
}

/** One progress line at most every `everyMs`, shared by both phases of a drain. */
type Progress = (line: () => string) => void;

/** Waits until every lead is in the CRM at its acknowledged state with its welcome email, and every task has ended. */
export async function drain(
  target: Observed,
  leads: readonly LeadRecord[],
  deadline: number,
  progressEveryMs: number,
  say: Say,
  fatal: () => string | undefined,
): Promise<Drained> {
  const started = Date.now();
  let lastSaid = 0;
  const progress: Progress = (line) => {
    if (Date.now() - lastSaid >= progressEveryMs) {
      lastSaid = Date.now();
      // The deadline is the drain timeout: what is left of it is an upper bound.
      say(`drain ${timeText((Date.now() - started) / 1000, (deadline - started) / 1000)}: ${line()}`);
    }
  };
  await waitForLeads(target, leads, deadline, progress, fatal);
  // Every acknowledged task must end; give this at least a minute even past the deadline, to read them.
  const drained = await waitForTasks(target, leads, Math.max(deadline, Date.now() + 60_000), progress, fatal);
  // A late second copy of an email would come from an activity attempt still running: give it a moment.
  await sleep(3_000);
  return drained;
}

async function waitForLeads(
  target: Observed,
  leads: readonly LeadRecord[],
  deadline: number,
  progress: Progress,
  fatal: () => string | undefined,
): Promise<void> {
  // An acknowledged create named the lead, so every lead expected here has its id.
  const expecting = leads.filter((l): l is LeadRecord & { id: string } => l.acked > 0 && l.id !== undefined);
  for (;;) {
    const [contacts, messages] = await Promise.all([target.contacts(), target.messages()]);
    const byId = new Map(contacts.map((c) => [c.leadId, c]));
    const mailIds = new Set(messages.map((m) => m.messageId));
    const settled = expecting.filter(
      (l) => compareContact(l, byId.get(l.id)).kind === 'ok' && (mailIds.has(welcomeMessageId(l.id, target.messageIdDomain)) || l.optedOutAt !== undefined),
    ).length;
    if (settled === expecting.length) return;
    progress(() => `${settled}/${expecting.length} leads in the CRM at their acknowledged state with their welcome email`);
    if (Date.now() > deadline || fatal()) return;
    await sleep(1_000);
  }
}

async function waitForTasks(
  target: Observed,
  leads: readonly LeadRecord[],
  deadline: number,
  progress: Progress,
  fatal: () => string | undefined,
): Promise<Drained> {
  const statuses = new Map<string, TaskView>();
  const all = leads.flatMap((l) => l.taskIds);
  for (const id of all) statuses.set(id, { task_id: id, status: 'unknown', attempts: 0 });
  const agent = keepAliveAgent(16);
  // One read per task per round, never retried: an unanswered read waits for the next round.
  const client = createClient({ baseUrl: target.apiUrl, retry: false, timeoutMs: 30_000, transport: httpTransport(agent) });
  let pending = all;
  try {
    for (;;) {
      await forEachLimited(pending, 16, async (id) => {
        const task = await readTask(client, id);
        if (task) statuses.set(id, task);
      });
      pending = pending.filter((id) => !['completed', 'failed', 'cancelled'].includes(statuses.get(id)!.status));
      if (pending.length === 0 || Date.now() > deadline || fatal()) break;
      progress(() => `${all.length - pending.length}/${all.length} tasks ended`);
      await sleep(1_000);
    }
  } finally {
    agent.destroy();
  }
  return { complete: pending.length === 0, tasks: [...statuses.values()] };
}

/** The task as the API shows it, or undefined when the API did not answer 200. */
async function readTask(client: Client, id: string): Promise<TaskView | undefined> {
  let task: Task;
  try {
    task = await client.tasks.get(id);
  } catch (err) {
    if (err instanceof ApiError || err instanceof TransportError) return undefined;
    throw err;
  }
  const email = task.steps.find((s) => s.name === 'email_send');
  return { task_id: id, status: task.status, attempts: task.attempts, emailAttempts: email?.attempts };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
