import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeadTrouble, Stats } from '../leads/stats.js';

/** What the watchdog asks (StatsService): a reachability check, then two reads of GET /api/stats's figures. */
export interface WatchdogSource {
  ping(timeoutMs: number): Promise<boolean>;
  /** Task-queue describes only. */
  taskQueues(now?: number): Promise<Stats['task_queues']>;
  /** Visibility counts only. */
  leadTrouble(now?: number): Promise<LeadTrouble>;
}

export interface WatchdogOptions {
  intervalMs: number;
  /** Bound on the reachability check. */
  pingTimeoutMs: number;
}

/**
 * Gauges the alert rules read (deploy/prometheus/alerts.yml, docs/alerts.md), refreshed from
 * Temporal every `intervalMs` by one process, not per scrape: the backlog a stopped or stuck
 * worker leaves is in no worker's own metrics, and a dead worker exports nothing at all.
 * Per task queue and task type the backlog, its oldest task's age and the live pollers;
 * leads retrying and failed; whether Temporal answers. The queue figures and the lead counts
 * are read apart, so a failing visibility store does not blind the backlog rules. A figure
 * that cannot be read keeps its last value (`watchdog_last_success_timestamp_seconds` says
 * when every figure was last read), so an outage alone neither fires nor resolves a rule.
 */
export class TemporalWatchdog {
  private readonly reachable: Gauge;
  private readonly backlog: Gauge<'task_queue' | 'task_type'>;
  private readonly backlogAge: Gauge<'task_queue' | 'task_type'>;
  private readonly pollers: Gauge<'task_queue' | 'task_type'>;
  private readonly retrying: Gauge;
  private readonly failed: Gauge;
  private readonly lastSuccess: Gauge;
  private readonly checks: Counter<'result'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly source: WatchdogSource,
    registry: Registry,
    private readonly options: WatchdogOptions,
  ) {
    const registers = [registry];
    const perQueue = ['task_queue', 'task_type'] as const;
    this.reachable = new Gauge({ name: 'temporal_reachable', help: 'Whether Temporal answered the last check (1) or not (0).', registers });
    this.backlog = new Gauge({ name: 'task_queue_backlog_tasks', help: 'Tasks waiting in the task queue (Temporal approximate statistics).', labelNames: perQueue, registers });
    this.backlogAge = new Gauge({ name: 'task_queue_backlog_age_seconds', help: 'How long the oldest waiting task of the task queue has waited.', labelNames: perQueue, registers });
    this.pollers = new Gauge({ name: 'task_queue_pollers', help: 'Workers seen polling the task queue in the last 90 s.', labelNames: perQueue, registers });
    this.retrying = new Gauge({ name: 'leads_retrying', help: "Running leads whose CRM sync ran out of attempts (LeadCrmStatus 'failed'), waiting to sync again.", registers });
    this.failed = new Gauge({ name: 'leads_failed', help: 'Lead workflows that ended Failed or TimedOut (within the retention period).', registers });
    this.lastSuccess = new Gauge({ name: 'watchdog_last_success_timestamp_seconds', help: 'When the watchdog last read every figure from Temporal (Unix time).', registers });
    this.checks = new Counter({
      name: 'watchdog_checks_total',
      help: 'Watchdog rounds, by result: ok, unreachable (Temporal did not answer), queues_failed or leads_failed (that read failed; the other figures were read).',
      labelNames: ['result'],
      registers,
    });
  }

  /** One round: the reachability check, then (when Temporal answers) every figure. */
  async check(now = Date.now()): Promise<void> {
    if (!(await this.source.ping(this.options.pingTimeoutMs))) {
      this.reachable.set(0);
      this.checks.inc({ result: 'unreachable' });
      return;
    }
    this.reachable.set(1);
    const [queues, leads] = await Promise.allSettled([this.source.taskQueues(now), this.source.leadTrouble(now)]);
    if (queues.status === 'fulfilled') {
      for (const [taskQueue, types] of Object.entries(queues.value)) {
        for (const [taskType, figures] of Object.entries(types)) {
          const labels = { task_queue: taskQueue, task_type: taskType };
          this.backlog.set(labels, figures.backlog);
          this.backlogAge.set(labels, figures.backlog_age_s);
          this.pollers.set(labels, figures.pollers);
        }
      }
    } else {
      this.checks.inc({ result: 'queues_failed' });
    }
    if (leads.status === 'fulfilled') {
      this.retrying.set(leads.value.retrying);
      this.failed.set(leads.value.failed);
    } else {
      this.checks.inc({ result: 'leads_failed' });
    }
    if (queues.status === 'fulfilled' && leads.status === 'fulfilled') {
      this.lastSuccess.set(now / 1000);
      this.checks.inc({ result: 'ok' });
    }
  }

  /** Checks now and then every `intervalMs` after the previous round ends (rounds never overlap). */
  start(): void {
    const round = () => {
      this.running = this.check().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(round, this.options.intervalMs).unref();
      });
    };
    round();
  }

  /** No round starts after this; resolves once the one under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
