import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';

const LATE_RETRY_GRACE_MS = 5_000;

/**
 * The SDK's logger, with Temporal outages told once. While the server is down the SDK's
 * polls retry on their own and log a warning for every retried call, several a second
 * ("gRPC call poll_workflow_task_queue retried 7 times … tcp connect error"). Those are
 * folded into two lines: one when the first shows up, one when the server answers again
 * (found by `probe`, started at that moment), with how long it took and how many warnings
 * were folded. Every other message passes through unchanged.
 */
export class OutageLogger implements Logger {
  private down: { since: number; folded: number } | undefined;
  /** When the probe last found Temporal back: retries that were already under way still log for a moment. */
  private upAt = -Infinity;

  constructor(
    private readonly inner: Logger,
    private readonly options: {
      address: string;
      /** Resolves once Temporal answers again (it may take as long as the outage). */
      probe: () => Promise<void>;
      print?: (line: string) => void;
      now?: () => number;
    },
  ) {}

  /** Whether the SDK is retrying a call because the server cannot be reached. */
  static isUnreachable(message: string, meta?: LogMetadata): boolean {
    const text = `${message} ${typeof meta?.error === 'string' ? meta.error : ''}`;
    return /gRPC call \w+ retried \d+ times/.test(message) && /Unavailable|DeadlineExceeded|tcp connect|transport error|Connection refused|broken pipe/i.test(text);
  }

  get isDown(): boolean {
    return this.down !== undefined;
  }

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (OutageLogger.isUnreachable(message, meta)) {
      this.noteDown(message, meta);
      return;
    }
    this.inner.log(level, message, meta);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }

  private noteDown(message: string, meta?: LogMetadata): void {
    if (this.down) {
      this.down.folded += 1;
      return;
    }
    if (this.now() - this.upAt < LATE_RETRY_GRACE_MS) return;
    this.down = { since: this.now(), folded: 0 };
    const reason = /tcp connect/i.test(`${message} ${String(meta?.error ?? '')}`) ? 'connection refused' : 'unavailable';
    this.print(`worker: Temporal at ${this.options.address} is unreachable (${reason}); polls keep retrying, and this worker says so once it is back`);
    this.options.probe().then(
      () => this.noteUp(),
      () => this.noteUp(),
    );
  }

  private noteUp(): void {
    const down = this.down;
    if (!down) return;
    this.down = undefined;
    this.upAt = this.now();
    const seconds = ((this.now() - down.since) / 1000).toFixed(1);
    this.print(`worker: Temporal at ${this.options.address} is reachable again after ${seconds} s (${down.folded} more retry warnings folded)`);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private print(line: string): void {
    (this.options.print ?? console.log)(line);
  }
}
