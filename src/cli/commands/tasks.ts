import { WatchTimeoutError, type Task } from '../../client/index.js';
import { intOption } from '../args.js';
import { EXIT } from '../errors.js';
import { pretty, type Command } from '../io.js';

type Step = Task['steps'][number];

const attemptNote = (s: { attempts: number; last_error: string | null }) =>
  [s.attempts > 1 ? `attempt ${s.attempts}` : '', s.last_error ? `last error: ${s.last_error}` : ''].filter(Boolean).join('; ');

const withNote = (text: string, note: string) => (note ? `${text} (${note})` : text);

function stepChanged(before: Step | undefined, step: Step): boolean {
  return !before || before.status !== step.status || before.attempts !== step.attempts || before.last_error !== step.last_error;
}

/** What changed between two reads of a task, one line each: its status, then each step that moved. */
export function taskChanges(before: Task | undefined, task: Task): string[] {
  const lines: string[] = [];
  if (!before) lines.push(withNote(`task ${task.task_id} (${task.type}, lead ${task.lead_id}): ${task.status}`, attemptNote(task)));
  else if (before.status !== task.status || before.last_error !== task.last_error) lines.push(withNote(`task: ${task.status}`, attemptNote(task)));
  for (const step of task.steps) {
    if (stepChanged(before?.steps.find((s) => s.name === step.name), step)) lines.push(withNote(`  ${step.name}: ${step.status}`, attemptNote(step)));
  }
  return lines;
}

const clock = () => new Date().toISOString().slice(11, 19);

export const taskCommands: Command[] = [
  {
    name: 'tasks get',
    usage: 'ao tasks get TASK_ID',
    summary: 'show a task: status, steps, attempts, last error',
    args: ['TASK_ID'],
    options: [],
    run: async (ctx) => {
      const task = await ctx.client.tasks.get(ctx.args[0]!);
      ctx.out.result(task, () => pretty(task));
    },
  },
  {
    name: 'tasks watch',
    usage: 'ao tasks watch TASK_ID [--timeout SECONDS]',
    summary: 'follow a task to its end, a line per change (exit 1 if it failed)',
    args: ['TASK_ID'],
    options: ['timeout'],
    run: async (ctx) => {
      const timeoutS = intOption(ctx.values.timeout, 'timeout', 1, 86_400) ?? 120;
      const taskId = ctx.args[0]!;
      let last: Task | undefined;
      let ended: Task['status'] | undefined;
      // The API pushes each change (GET /api/tasks/:id/events); no polling.
      for await (const e of ctx.client.tasks.events(taskId, { signal: AbortSignal.timeout(timeoutS * 1000) })) {
        if (e.event === 'end') ended = e.status;
        else if (e.event === 'status') {
          if (!ctx.out.json) ctx.out.line(`${clock()}  (Temporal ${e.temporal === 'unavailable' ? 'cannot be read now; still following' : 'can be read again'})`);
        } else {
          if (ctx.out.json) ctx.out.line(JSON.stringify(e.task));
          else for (const line of taskChanges(last, e.task)) ctx.out.line(`${clock()}  ${line}`);
          last = e.task;
        }
      }
      if (!ended) throw new WatchTimeoutError(taskId, timeoutS * 1000, last?.status ?? 'unknown');
      // Resumed after its last change was seen: say how it ended.
      if (!last && !ctx.out.json) ctx.out.line(`${clock()}  task: ${ended}`);
      return ended === 'completed' ? EXIT.ok : EXIT.refused;
    },
  },
];
