import { intOption } from '../args.js';
import { pretty, type Command } from '../io.js';

export const automationCommands: Command[] = [
  {
    name: 'automations list',
    usage: 'ao automations list',
    summary: 'the automation definitions',
    args: [],
    options: [],
    run: async (ctx) => {
      const { items } = await ctx.client.automations.list();
      ctx.out.result(items, () => items.map((a) => `${a.id.padEnd(24)}  ${a.enabled ? 'enabled ' : 'disabled'}  ${a.name}`).join('\n') || '(none)');
    },
  },
  {
    name: 'automations get',
    usage: 'ao automations get AUTOMATION_ID',
    summary: 'an automation: its definition and the hash new runs are pinned to',
    args: ['AUTOMATION_ID'],
    options: [],
    run: async (ctx) => {
      const automation = await ctx.client.automations.get(ctx.args[0]!);
      ctx.out.result(automation, () => pretty(automation));
    },
  },
  {
    name: 'runs start',
    usage: 'ao runs start LEAD_ID AUTOMATION_ID [--idempotency-key K]',
    summary: 'start a run of an automation for a lead',
    args: ['LEAD_ID', 'AUTOMATION_ID'],
    options: ['idempotency-key'],
    run: async (ctx) => {
      const key = ctx.values['idempotency-key'];
      const run = await ctx.client.automations.startRun(ctx.args[0]!, ctx.args[1]!, key ? { idempotencyKey: key } : {});
      ctx.out.result(run, () => `${run.deduplicated ? 'already started' : 'started'}: run ${run.run_id} (automation ${run.automation_id}, lead ${run.lead_id})`);
    },
  },
  {
    name: 'runs get',
    usage: 'ao runs get RUN_ID',
    summary: 'a run: status, current step, steps done, next wake-up',
    args: ['RUN_ID'],
    options: [],
    run: async (ctx) => {
      const run = await ctx.client.runs.get(ctx.args[0]!);
      ctx.out.result(run, () => pretty(run));
    },
  },
  {
    name: 'runs cancel',
    usage: 'ao runs cancel RUN_ID',
    summary: 'cancel a running run',
    args: ['RUN_ID'],
    options: [],
    run: async (ctx) => {
      const answer = await ctx.client.runs.cancel(ctx.args[0]!);
      ctx.out.result(answer, () => `${answer.status}: run ${answer.run_id}`);
    },
  },
  {
    name: 'runs list',
    usage: 'ao runs list LEAD_ID [--limit N] [--cursor C]',
    summary: "a lead's runs",
    args: ['LEAD_ID'],
    options: ['limit', 'cursor'],
    run: async (ctx) => {
      const page = await ctx.client.runs.forLead(ctx.args[0]!, { limit: intOption(ctx.values.limit, 'limit', 1, 100), cursor: ctx.values.cursor });
      ctx.out.result(page, () => page.items.map((r) => `${r.run_id}  ${r.status}`).join('\n') || '(no runs)');
      if (page.next_cursor && !ctx.out.json) ctx.out.note(`more: ao runs list ${ctx.args[0]} --cursor ${page.next_cursor}`);
    },
  },
];
