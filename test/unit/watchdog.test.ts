import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LIVE_POLLER_WINDOW_MS, livePollers, type LeadTrouble, type Stats } from '../../src/leads/stats.js';
import { TemporalWatchdog, type WatchdogSource } from '../../src/api/watchdog.js';

// The watchdog turns GET /api/stats's figures into the gauges the alert rules read, one round
// at a time; an unreachable Temporal or a failed read leaves the last figures in place, and a
// failing visibility store does not keep the queue figures from being read.

const queue = (backlog: number, age: number, pollers: number) => ({ backlog, backlog_age_s: age, add_rate: 0, dispatch_rate: 0, pollers });
const queues = (age = 42.5): Stats['task_queues'] => ({
  leads: { workflow: queue(7, age, 1), activity: queue(0, 0, 1) },
  'leads-crm': { workflow: queue(0, 0, 0), activity: queue(3, 2, 2) },
});

class FakeSource implements WatchdogSource {
  reachable = true;
  queues: Stats['task_queues'] | Error = queues();
  leads: LeadTrouble | Error = { retrying: 4, failed: 2 };
  reads = 0;
  async ping(): Promise<boolean> {
    return this.reachable;
  }
  async taskQueues(): Promise<Stats['task_queues']> {
    this.reads += 1;
    if (this.queues instanceof Error) throw this.queues;
    return this.queues;
  }
  async leadTrouble(): Promise<LeadTrouble> {
    if (this.leads instanceof Error) throw this.leads;
    return this.leads;
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
    source.queues = queues(999);
    await watchdog.check(2_000_000);
    expect(await sample(registry, 'temporal_reachable')).toBe(0);
    expect(source.reads).toBe(1);
    expect(await sample(registry, 'task_queue_backlog_age_seconds', { task_queue: 'leads', task_type: 'workflow' })).toBe(42.5);
    expect(await sample(registry, 'watchdog_last_success_timestamp_seconds')).toBe(1000);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'unreachable' })).toBe(1);
  });

  it('reads the queues while the lead counts fail, and keeps the last time every figure was read', async () => {
    const { registry, source, watchdog } = setUp();
    await watchdog.check(1_000_000);
    source.leads = new Error('visibility timed out');
    source.queues = queues(77);
    await watchdog.check(2_000_000);
    expect(await sample(registry, 'temporal_reachable')).toBe(1);
    expect(await sample(registry, 'task_queue_backlog_age_seconds', { task_queue: 'leads', task_type: 'workflow' })).toBe(77);
    expect(await sample(registry, 'leads_retrying')).toBe(4);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'leads_failed' })).toBe(1);
    expect(await sample(registry, 'watchdog_last_success_timestamp_seconds')).toBe(1000);

    source.queues = new Error('describe failed');
    source.leads = { retrying: 9, failed: 2 };
    await watchdog.check(3_000_000);
    expect(await sample(registry, 'leads_retrying')).toBe(9);
    expect(await sample(registry, 'task_queue_backlog_age_seconds', { task_queue: 'leads', task_type: 'workflow' })).toBe(77);
    expect(await sample(registry, 'watchdog_checks_total', { result: 'queues_failed' })).toBe(1);
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
