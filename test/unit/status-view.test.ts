import { describe, expect, it } from 'vitest';
import type { Stats } from '../../src/client/index.js';
import { statusLines } from '../../src/cli/commands/status.js';

// `ao status` draws GET /api/stats as one screen: a pure function from the stats to lines.

const idle = { backlog: 0, backlog_age_s: 0, add_rate: 0, dispatch_rate: 0, pollers: 1 };
const STATS: Stats = {
  at: '2026-12-06T05:40:12.345Z',
  task_queues: {
    'leads-crm': { workflow: idle, activity: { backlog: 7, backlog_age_s: 3.25, add_rate: 1.44, dispatch_rate: 1.2, pollers: 2 } },
    leads: { workflow: { backlog: 120, backlog_age_s: 125, add_rate: 3.1, dispatch_rate: 0, pollers: 0 }, activity: idle },
  },
  leads: { by_crm_status: { pending: 120, syncing: 0, synced: 5480, failed: 3 }, retrying: 3, failed: 1 },
  last_minute: { leads_accepted: 42, leads_synced: 40 },
};
const URL = 'http://127.0.0.1:3000';

describe('statusLines', () => {
  it('draws every queue and type with backlog, age, rates and pollers, then the lead counts', () => {
    const lines = statusLines(STATS, { url: URL, color: false });
    expect(lines[0]).toBe(`ao status  ${URL}  at 05:40:12 UTC`);
    const header = lines.find((l) => l.startsWith('task queue'));
    expect(header).toMatch(/task queue\s+tasks\s+backlog\s+oldest\s+added\/s\s+dispatched\/s\s+pollers/);
    const row = (queue: string, type: string) => lines.find((l) => new RegExp(`^${queue}\\s+${type}\\s`).test(l))?.trim().split(/\s+/);
    // Sorted by name: leads before leads-crm.
    expect(lines.findIndex((l) => l.startsWith('leads '))).toBeLessThan(lines.findIndex((l) => l.startsWith('leads-crm ')));
    expect(row('leads', 'workflow')).toEqual(['leads', 'workflow', '120', '2m5s', '3.1', '0.0', '0']);
    expect(row('leads-crm', 'activity')).toEqual(['leads-crm', 'activity', '7', '3.3s', '1.4', '1.2', '2']);
    expect(row('leads-crm', 'workflow')).toEqual(['leads-crm', 'workflow', '0', '0.0s', '0.0', '0.0', '1']);
    expect(lines).toContain('leads by CRM status  pending 120  syncing 0  synced 5480  failed 3');
    expect(lines.find((l) => l.startsWith('retrying'))).toMatch(/^retrying\s+3\s/);
    expect(lines.find((l) => l.startsWith('failed'))).toMatch(/^failed\s+1\s/);
    expect(lines.find((l) => l.startsWith('last minute'))).toMatch(/accepted 42\s+synced 40/);
    // Columns line up: every queue row as wide as the header up to the pollers column.
    const rows = lines.filter((l) => /^leads(-crm)?\s+(workflow|activity)\s/.test(l));
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.length))).toEqual(new Set([header!.length]));
  });

  it('uses no escapes without colour, and paints backlog, retrying and failed with it', () => {
    expect(statusLines(STATS, { url: URL, color: false }).join('\n')).not.toContain('\x1b[');
    const painted = statusLines(STATS, { url: URL, color: true });
    expect(painted.find((l) => l.startsWith('leads ') && l.includes('workflow'))).toContain('\x1b[33m    120\x1b[0m');
    expect(painted.find((l) => l.startsWith('retrying'))).toContain('\x1b[31m3\x1b[0m');
    const calm = statusLines({ ...STATS, leads: { ...STATS.leads, retrying: 0, failed: 0 } }, { url: URL, color: true });
    expect(calm.find((l) => l.startsWith('retrying'))).not.toContain('\x1b[');
  });

  it('shows a failed read above the stats last read, or alone before the first', () => {
    const stale = statusLines(STATS, { url: URL, color: false, error: 'temporal_unavailable (HTTP 503)' });
    expect(stale[1]).toBe('error: temporal_unavailable (HTTP 503) (showing the last stats read)');
    expect(stale.some((l) => l.startsWith('retrying'))).toBe(true);
    expect(statusLines(undefined, { url: URL, color: false, error: 'no answer from the API' })).toEqual([
      `ao status  ${URL}`,
      'error: no answer from the API',
    ]);
  });
});
