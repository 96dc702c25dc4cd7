import { setTimeout as sleep } from 'node:timers/promises';
import type { Stats } from '../../client/index.js';
import { intOption } from '../args.js';
import { describeError } from '../errors.js';
import type { Command, CommandContext } from '../io.js';

// `ao status` (npm run status): GET /api/stats drawn as one screen, redrawn every 2 s with
// plain ANSI (home, clear); `--once` prints one frame without escapes and exits.

export interface FrameOptions {
  /** Where the stats came from, shown in the title. */
  url: string;
  /** ANSI colours: numbers that need attention in yellow (backlog) or red (retrying, failed). */
  color: boolean;
  /** Set when the last read failed: the frame shows why, above the stats last read (if any). */
  error?: string | undefined;
}

const ESC = '\x1b[';
const paint = (on: boolean, code: string, text: string) => (on ? `${ESC}${code}m${text}${ESC}0m` : text);
const rate = (n: number) => n.toFixed(1);
const seconds = (s: number) => (s < 60 ? `${s.toFixed(1)}s` : s < 3600 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${(s / 3600).toFixed(1)}h`);

/** One screen of `ao status`: a pure function of the stats (tested as such). */
export function statusLines(stats: Stats | undefined, options: FrameOptions): string[] {
  const { color } = options;
  const lines = [`ao status  ${options.url}${stats ? `  at ${stats.at.slice(11, 19)} UTC` : ''}`];
  if (options.error) lines.push(paint(color, '31', `error: ${options.error}${stats ? ' (showing the last stats read)' : ''}`));
  if (!stats) return lines;

  const names = Object.keys(stats.task_queues).sort();
  const width = Math.max('task queue'.length, ...names.map((n) => n.length));
  const cols = ['tasks   ', 'backlog', '  oldest', 'added/s', 'dispatched/s', 'pollers'];
  lines.push('', `${'task queue'.padEnd(width)}  ${cols.join('  ')}`);
  for (const name of names) {
    const queue = stats.task_queues[name]!;
    for (const type of ['workflow', 'activity'] as const) {
      const q = queue[type];
      const backlog = String(q.backlog).padStart(cols[1]!.length);
      lines.push(
        [
          name.padEnd(width),
          type.padEnd(cols[0]!.length),
          q.backlog > 0 ? paint(color, '33', backlog) : backlog,
          seconds(q.backlog_age_s).padStart(cols[2]!.length),
          rate(q.add_rate).padStart(cols[3]!.length),
          rate(q.dispatch_rate).padStart(cols[4]!.length),
          String(q.pollers).padStart(cols[5]!.length),
        ].join('  '),
      );
    }
  }

  const { leads, last_minute } = stats;
  const attention = (n: number) => (n > 0 ? paint(color, '31', String(n)) : String(n));
  const byStatus = Object.entries(leads.by_crm_status).map(([status, n]) => `${status} ${n}`);
  lines.push(
    '',
    `leads by CRM status  ${byStatus.join('  ')}`,
    `retrying             ${attention(leads.retrying)}  (CRM sync failed; each retries at the next resync)`,
    `failed               ${attention(leads.failed)}  (lead workflows ended Failed or TimedOut)`,
    `last minute          accepted ${last_minute.leads_accepted}  synced ${last_minute.leads_synced}  (new leads)`,
  );
  return lines;
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM, whichever comes first. */
function stopSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

async function live(ctx: CommandContext, url: string, intervalMs: number): Promise<void> {
  const { stdout } = ctx.io;
  const tty = stdout.isTTY === true;
  const color = tty && !ctx.io.env.NO_COLOR;
  const { signal, dispose } = stopSignal();
  let last: Stats | undefined;
  try {
    while (!signal.aborted) {
      let error: string | undefined;
      try {
        last = await ctx.client.stats();
      } catch (err) {
        error = describeError(err, false).replace(/^error: /, '').split('\n')[0];
      }
      // Home and clear on a terminal; frames one after another into a pipe or file.
      stdout.write(`${tty ? `${ESC}H${ESC}2J` : '\n'}${statusLines(last, { url, color, error }).join('\n')}\n\nrefreshing every ${intervalMs / 1000} s; Ctrl-C to quit\n`);
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    dispose();
  }
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'ao status [--once] [--interval SECONDS]',
  summary: 'live view of GET /api/stats: backlog per task queue, rates, leads retrying and failed (Ctrl-C quits)',
  args: [],
  options: ['once', 'interval'],
  // One attempt, short: a frame shows a failed read and the next one tries again.
  client: { retry: false, timeoutMs: 10_000 },
  run: async (ctx) => {
    const intervalS = intOption(ctx.values.interval, 'interval', 1, 3600) ?? 2;
    const url = ctx.baseUrl;
    if (ctx.values.once) {
      const stats = await ctx.client.stats();
      ctx.out.result(stats, () => statusLines(stats, { url, color: ctx.io.stdout.isTTY === true && !ctx.io.env.NO_COLOR }).join('\n'));
      return;
    }
    await live(ctx, url, intervalS * 1000);
  },
};
