import type { CreateAccepted, LeadInput, LeadListItem, LeadPatch, WriteAccepted, WriteOptions } from '../../client/index.js';
import { intOption } from '../args.js';
import { UsageError } from '../errors.js';
import { LEAD_OPTIONS, leadFields } from '../lead-fields.js';
import { pretty, type Command, type CommandContext } from '../io.js';

const writeOptions = (ctx: CommandContext): WriteOptions =>
  ctx.values['idempotency-key'] ? { idempotencyKey: ctx.values['idempotency-key'] } : {};

function printReceipt(ctx: CommandContext, receipt: CreateAccepted | WriteAccepted): void {
  ctx.out.result(receipt, () => {
    const merged = 'deduplicated' in receipt && receipt.deduplicated ? ' (merged into the existing lead with this email)' : '';
    return `queued: lead ${receipt.id}${merged}, task ${receipt.task_id}\nfollow it: ao tasks watch ${receipt.task_id}`;
  });
}

const row = (lead: LeadListItem) =>
  [lead.id, lead.email.padEnd(32), lead.stage.padEnd(11), String(lead.score).padStart(5), `v${lead.version}`.padStart(5), lead.crm.status].join('  ');

async function list(ctx: CommandContext): Promise<void> {
  const query = {
    email: ctx.values.email,
    stage: ctx.values.stage as LeadListItem['stage'] | undefined,
    limit: intOption(ctx.values.limit, 'limit', 1, 100),
    cursor: ctx.values.cursor,
  };
  if (ctx.values.all) {
    // One lead per line (JSON Lines with --json): the output can be piped while pages arrive.
    for await (const lead of ctx.client.leads.listAll(query)) ctx.out.result(lead, () => row(lead));
    return;
  }
  const page = await ctx.client.leads.list(query);
  ctx.out.result(page, () => page.items.map(row).join('\n') || '(no leads)');
  if (page.next_cursor && !ctx.out.json) ctx.out.note(`more: ao leads list --cursor ${page.next_cursor} (or --all)`);
}

function historyLine(event: { at: string; kind: string; [field: string]: unknown }): string {
  const { at, kind, ...rest } = event;
  const details = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [at, kind.padEnd(16), ...details].join('  ');
}

export const leadCommands: Command[] = [
  {
    name: 'leads create',
    usage: 'ao leads create FIELDS [--idempotency-key K]',
    summary: 'create a lead (a repeated email merges into its lead)',
    args: [],
    options: LEAD_OPTIONS,
    run: async (ctx) => printReceipt(ctx, await ctx.client.leads.create(leadFields(ctx.values) as LeadInput, writeOptions(ctx))),
  },
  {
    name: 'leads get',
    usage: 'ao leads get LEAD_ID',
    summary: 'show a lead',
    args: ['LEAD_ID'],
    options: [],
    run: async (ctx) => {
      const lead = await ctx.client.leads.get(ctx.args[0]!);
      ctx.out.result(lead, () => pretty(lead));
    },
  },
  {
    name: 'leads replace',
    usage: 'ao leads replace LEAD_ID FIELDS [--idempotency-key K]',
    summary: 'replace a lead (PUT: email required, fields not given are cleared)',
    args: ['LEAD_ID'],
    options: LEAD_OPTIONS,
    run: async (ctx) => printReceipt(ctx, await ctx.client.leads.replace(ctx.args[0]!, leadFields(ctx.values) as LeadInput, writeOptions(ctx))),
  },
  {
    name: 'leads patch',
    usage: 'ao leads patch LEAD_ID FIELDS [--clear FIELD…] [--idempotency-key K]',
    summary: 'change some fields of a lead (--clear FIELD clears one)',
    args: ['LEAD_ID'],
    options: [...LEAD_OPTIONS, 'clear'],
    run: async (ctx) => printReceipt(ctx, await ctx.client.leads.patch(ctx.args[0]!, leadFields(ctx.values) as LeadPatch, writeOptions(ctx))),
  },
  {
    name: 'leads list',
    usage: 'ao leads list [--email E] [--stage S] [--limit N] [--cursor C | --all]',
    summary: 'list leads (--all follows every page)',
    args: [],
    options: ['email', 'stage', 'limit', 'cursor', 'all'],
    run: list,
  },
  {
    name: 'leads history',
    usage: 'ao leads history LEAD_ID',
    summary: "everything that happened to a lead, from Temporal's history",
    args: ['LEAD_ID'],
    options: [],
    run: async (ctx) => {
      const history = await ctx.client.leads.history(ctx.args[0]!);
      ctx.out.result(history, () => history.events.map(historyLine).join('\n') || '(no events)');
    },
  },
  {
    name: 'leads export',
    usage: 'ao leads export LEAD_ID',
    summary: 'everything the service holds about a lead (fields, consent, email claim, CRM state, history) as JSON',
    args: ['LEAD_ID'],
    options: [],
    // JSON whatever --json says: an access request's answer is a document, not a screen.
    run: async (ctx) => {
      const exported = await ctx.client.leads.export(ctx.args[0]!);
      ctx.out.result(exported, () => JSON.stringify(exported, null, 2));
    },
  },
  {
    name: 'leads delete',
    usage: 'ao leads delete LEAD_ID',
    summary: 'erase a lead everywhere (Temporal, CRM); its address stays suppressed by keyed hash',
    args: ['LEAD_ID'],
    options: [],
    run: async (ctx) => {
      const receipt = await ctx.client.leads.erase(ctx.args[0]!);
      ctx.out.result(receipt, () => `erasing lead ${receipt.id}, task ${receipt.task_id}\nfollow it: ao tasks watch ${receipt.task_id}`);
    },
  },
  {
    name: 'leads consent',
    usage: 'ao leads consent LEAD_ID --status subscribed|unsubscribed --source TEXT',
    summary: "record the address's consent: opt out, or resubscribe on the person's own request (--source: where it was given)",
    args: ['LEAD_ID'],
    options: ['status', 'source'],
    run: async (ctx) => {
      const status = ctx.values.status;
      if (status !== 'subscribed' && status !== 'unsubscribed') throw new UsageError('--status must be subscribed or unsubscribed');
      if (!ctx.values.source) throw new UsageError('--source is required: say where the consent was given (a form, a call, a double opt-in)');
      const receipt = await ctx.client.leads.consent(ctx.args[0]!, { subscribed: status === 'subscribed', source: ctx.values.source });
      ctx.out.result(receipt, () =>
        receipt.status === 'unchanged'
          ? `unchanged: the address already was ${receipt.unsubscribed ? 'unsubscribed' : 'subscribed'}`
          : `queued: lead ${receipt.id} is ${receipt.unsubscribed ? 'unsubscribed' : 'subscribed'}, task ${receipt.task_id}`,
      );
    },
  },
];
