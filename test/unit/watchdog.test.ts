import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LIVE_POLLER_WINDOW_MS, livePollers, type Stats } from '../../src/api/stats.js';
import { TemporalWatchdog, type WatchdogSource } from '../../src/api/watchdog.js';

// The watchdog turns GET /api/stats's figures into the gauges the alert rules read, one round
// at a time; an unreachable Temporal or a failed read leaves the last figures in place.

const queue = (backlog: number, age: number, pollers: number) => ({ backlog, backlog_age_s: age, add_rate: 0, dispatch_rate: 0, pollers });
const stats = (over: { age?: number; pollers?: number; retrying?: number; failed?: number } = {}): Stats => ({
  at: new Date(0).toISOString(),
  task_queues: {
    leads: { workflow: queue(7, over.age ?? 42.5, over.pollers ?? 1), activity: queue(0, 0, 1) },
    'leads-crm': { workflow: queue(0, 0, 0), activity: queue(3, 2, 2) },
  },
  leads: { by_crm_status: { pending: 0, syncing: 0, synced: 0, failed: over.retrying ?? 4 }, retrying: over.retrying ?? 4, failed: over.failed ?? 2 },
  last_minute: { leads_accepted: 0, leads_synced: 0 },
});

class FakeSource implements WatchdogSource {
  reachable = true;
  next: Stats | Error = stats();
  reads = 0;
  async ping(): Promise<boolean> {
    return this.reachable;
  }
  async read(): Promise<Stats> {
    this.reads += 1;
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = (metric?.values as { value: number; labels: Record<string, unknown> }[] | undefined)?.find((v) =>
    Object.entries(labels).every(([k, want]) => v.labels[k] === want),
  );
  return found?.value;
}

function setUp() {
  const registry = new Registry();
  const source = new FakeSource();
  const watchdog = new TemporalWatchdog(source, registry, { intervalMs: 10, pingTimeoutMs: 100 });
  return { registry, source, watchdog };
}

describe('TemporalWatchdog', () => {
  it('exports backlog, its age and live pollers per queue and type, leads retrying and failed, and Temporal reachable', async () => {
    const { registry, watchdog } = setUp();
    await watchdog.check(1_700_000_000_000);
    expect(await sample(registry, 'temporal_reachable')).toBe(1);
    expect(await sample(registry, 'task_queue_backlog_tasks', { task_queue: 'leads', task_type: 'workflow' })).toBe(7);
    expect(await sample(registry, 'task_queue_backlog_age_seconds', { task_queue: 'leads', task_type: 'workflow' })).toBe(42.5);
    expect(await sample(registry, 'task_queue_pollers', { task_queue: 'leads-crm', task_type: 'activity' })).toBe(2);
    expect(await sample(registry, 'task_queue_pollers', { task_queue: 'leads-crm', task_type: 'workflow' })).toBe(0);
    expect(await sample(registry, 'leads_retrying')).toBe(4);
    expect(await sample(registry, 'leads_failed')).toBe(2);
    expect(await sample(registry, 'watchdog_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'ok' })).toBe(1);
  });

  it('says Temporal is unreachable without reading, and keeps the last figures', async () => {
    const { registry, source, watchdog } = setUp();
    await watchdog.check(1_000_000);
    source.reachable = false;
    source.next = stats({ age: 999 });
    await watchdog.check(2_000_000);
    expect(await sample(registry, 'temporal_reachable')).toBe(0);
    expect(source.reads).toBe(1);
    expect(await sample(registry, 'task_queue_backlog_age_seconds', { task_queue: 'leads', task_type: 'workflow' })).toBe(42.5);
    expect(await sample(registry, 'watchdog_last_success_timestamp_seconds')).toBe(1000);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'unreachable' })).toBe(1);
  });

  it('counts a failed read and keeps the last success time', async () => {
    const { registry, source, watchdog } = setUp();
    await watchdog.check(1_000_000);
    source.next = new Error('visibility timed out');
    await watchdog.check(2_000_000);
    expect(await sample(registry, 'temporal_reachable')).toBe(1);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'failed' })).toBe(1);
    expect(await sample(registry, 'watchdog_last_success_timestamp_seconds')).toBe(1000);
  });

  it('checks every interval once started and no more once stopped', async () => {
    const { source, watchdog } = setUp();
    watchdog.start();
    await new Promise((r) => setTimeout(r, 80));
    await watchdog.stop();
    const reads = source.reads;
    expect(reads).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(source.reads).toBe(reads);
  });
});

describe('livePollers', () => {
  it('counts only pollers seen within the window (the server lists dead ones for 5 minutes)', () => {
    const now = 1_700_000_000_000;
    const at = (msAgo: number) => ({ lastAccessTime: { seconds: Math.floor((now - msAgo) / 1000), nanos: 0 } });
    expect(livePollers([at(1000), at(LIVE_POLLER_WINDOW_MS - 1000), at(LIVE_POLLER_WINDOW_MS + 1000), at(240_000)], now)).toBe(2);
    expect(livePollers([{}], now)).toBe(1);
    expect(livePollers([], now)).toBe(0);
  });
});
