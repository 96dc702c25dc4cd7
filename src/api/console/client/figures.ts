// "Now": the figures, the task queues' table and the charts, from GET /api/stats.

import { api } from './api.js';
import type { Stats } from './api-types.js';
import { drawChart, keepSamples, type Sample } from './charts.js';
import type { ConsoleConfig } from './config.js';
import { byId, el } from './dom.js';

function queueRows(stats: Stats): HTMLTableRowElement[] {
  const rows: HTMLTableRowElement[] = [];
  for (const queue of Object.keys(stats.task_queues).sort()) {
    const q = stats.task_queues[queue]!;
    for (const type of ['workflow', 'activity'] as const) {
      const t = q[type];
      rows.push(
        el(
          'tr',
          { className: t.backlog > 0 ? 'warn' : '' },
          el('td', { text: queue }),
          el('td', { text: type }),
          el('td', { className: 'num', text: t.backlog }),
          el('td', { className: 'num', text: t.backlog_age_s.toFixed(1) + ' s' }),
          el('td', { className: 'num', text: t.add_rate.toFixed(1) }),
          el('td', { className: 'num', text: t.dispatch_rate.toFixed(1) }),
          el('td', { className: 'num', text: t.pollers }),
        ),
      );
    }
  }
  return rows;
}

/** Sets the figure's value, and its box's class (bad, warn or none). */
function figure(id: string, value: number, className: string): void {
  const dd = byId(id);
  dd.textContent = String(value);
  if (dd.parentElement) dd.parentElement.className = className;
}

/** Asks for the figures, shows them, and adds them to the samples the charts draw. */
export async function refreshStats(cfg: ConsoleConfig, samples: Sample[]): Promise<void> {
  const stats = await api<Stats>('GET', '/api/stats');
  const backlog: Record<string, number> = {};
  // Sorted by name, as the table: the backlog chart's series (and colours) follow this order.
  for (const queue of Object.keys(stats.task_queues).sort()) {
    const q = stats.task_queues[queue]!;
    backlog[queue] = q.workflow.backlog + q.activity.backlog;
  }
  const total = Object.values(backlog).reduce((sum, n) => sum + n, 0);
  byId<HTMLTableElement>('queues').tBodies[0]?.replaceChildren(...queueRows(stats));
  byId('fig-accepted').textContent = String(stats.last_minute.leads_accepted);
  byId('fig-synced').textContent = String(stats.last_minute.leads_synced);
  figure('fig-backlog', total, total > 0 ? 'warn' : '');
  figure('fig-retrying', stats.leads.retrying, stats.leads.retrying > 0 ? 'bad' : '');
  figure('fig-failed', stats.leads.failed, stats.leads.failed > 0 ? 'bad' : '');

  samples.push({ at: Date.now(), accepted: stats.last_minute.leads_accepted, synced: stats.last_minute.leads_synced, backlog });
  keepSamples(samples, cfg);
  drawChart(
    'chart-throughput',
    [
      { name: 'accepted/min', values: samples.map((s) => s.accepted) },
      { name: 'synced/min', values: samples.map((s) => s.synced) },
    ],
    samples,
    cfg,
  );
  const series = Object.keys(backlog).map((queue) => ({ name: queue, values: samples.map((s) => s.backlog[queue] || 0) }));
  drawChart('chart-backlog', series, samples, cfg);
}
