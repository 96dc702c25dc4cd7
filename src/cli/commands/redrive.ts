import type { FailedLead, FailedLeadsQuery, RedriveFilter } from '../../client/index.js';
import { intOption } from '../args.js';
import { UsageError } from '../errors.js';
import type { Command, CommandContext } from '../io.js';

// Failed work and re-driving it (#10 item 3): the same operations as the API's re-drive routes.

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

const page = (ctx: CommandContext) => ({ limit: intOption(ctx.values.limit, 'limit', 1, 100), cursor: ctx.values.cursor });

const filterOf = (ctx: CommandContext): RedriveFilter => ({
  ...(ctx.values.email ? { email: ctx.values.email } : {}),
  ...(ctx.values.stage ? { stage: ctx.values.stage as RedriveFilter['stage'] } : {}),
});

const failedRow = ({ lead, state, retrying }: FailedLead) =>
  [lead.id, lead.email.padEnd(32), state.padEnd(8), retrying ? `${retrying.activity} attempt ${retrying.attempt}: ${retrying.last_failure ?? ''}` : (lead.crm.last_error ?? '')].join('  ');

export const redriveCommands: Command[] = [
  {
    name: 'leads failed',
    usage: 'ao leads failed [--status failed|retrying] [--email E] [--stage S] [--limit N] [--cursor C]',
    summary: 'leads whose CRM sync failed: waiting for their repair, or retrying now',
    args: [],
    options: ['status', 'email', 'stage', 'limit', 'cursor'],
    run: async (ctx) => {
      const query: FailedLeadsQuery = { ...filterOf(ctx), ...page(ctx), status: oneOf(ctx.values.status, 'status', ['failed', 'retrying'] as const) };
      const result = await ctx.client.leads.failed(query);
      ctx.out.result(result, () => result.items.map(failedRow).join('\n') || '(no failed leads)');
      if (result.next_cursor && !ctx.out.json) ctx.out.note(`more: ao leads failed --cursor ${result.next_cursor}`);
    },
  },
  {
    name: 'leads retry',
    usage: 'ao leads retry LEAD_ID',
    summary: "re-drive a lead's failed CRM sync or welcome email now",
    args: ['LEAD_ID'],
    options: [],
    run: async (ctx) => {
      const answer = await ctx.client.leads.retry(ctx.args[0]!);
      const held = answer.via === 'update' ? `crm ${answer.crm}, welcome ${answer.welcome}` : 'no worker answered: recorded, it runs once one does';
      ctx.out.result(answer, () => `re-driving lead ${answer.id} (${held}); follow it: ao leads get ${answer.id}`);
    },
  },
  {
    name: 'leads retry-all',
    usage: 'ao leads retry-all [--email E] [--stage S] [--idempotency-key K]',
    summary: 're-drive every failed lead the filter matches (a Temporal batch operation)',
    args: [],
    options: ['email', 'stage', 'idempotency-key'],
    run: async (ctx) => {
      const key = ctx.values['idempotency-key'];
      const job = await ctx.client.leads.retryAll(filterOf(ctx), key ? { idempotencyKey: key } : {});
      ctx.out.result(job, () => `${job.deduplicated ? 'already started' : 'started'}: job ${job.job_id}, ${job.matched} failed lead(s) matched\nfollow it: ao leads retry-job ${job.job_id}`);
    },
  },
  {
    name: 'leads retry-job',
    usage: 'ao leads retry-job JOB_ID',
    summary: "a bulk re-drive's progress",
    args: ['JOB_ID'],
    options: [],
    run: async (ctx) => {
      const job = await ctx.client.leads.redriveJob(ctx.args[0]!);
      ctx.out.result(job, () => `job ${job.job_id}: ${job.state}, ${job.completed}/${job.total} signalled, ${job.failed} failed`);
    },
  },
  {
    name: 'runs failed',
    usage: 'ao runs failed [--status failed|stuck] [--limit N] [--cursor C]',
    summary: 'failed runs, or running runs stuck retrying an activity',
    args: [],
    options: ['status', 'limit', 'cursor'],
    run: async (ctx) => {
      const result = await ctx.client.runs.problems({ ...page(ctx), status: oneOf(ctx.values.status, 'status', ['failed', 'stuck'] as const) });
      const row = (r: (typeof result.items)[number]) =>
        [r.run_id, r.status.padEnd(10), r.retrying ? `${r.retrying.activity} attempt ${r.retrying.attempt}: ${r.retrying.last_failure ?? ''}` : ''].join('  ');
      ctx.out.result(result, () => result.items.map(row).join('\n') || '(none)');
      if (result.next_cursor && !ctx.out.json) ctx.out.note(`more: ao runs failed --cursor ${result.next_cursor}`);
    },
  },
  {
    name: 'runs retry',
    usage: 'ao runs retry RUN_ID [--idempotency-key K]',
    summary: 'retry a failed or cancelled run as a fresh run with the same input',
    args: ['RUN_ID'],
    options: ['idempotency-key'],
    run: async (ctx) => {
      const key = ctx.values['idempotency-key'];
      const run = await ctx.client.runs.retry(ctx.args[0]!, key ? { idempotencyKey: key } : {});
      ctx.out.result(run, () => `${run.deduplicated ? 'already started' : 'started'}: run ${run.run_id} (retry of ${run.retry_of})`);
    },
  },
];
