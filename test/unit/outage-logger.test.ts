import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { OutageLogger } from '../../worker/outage-logger.js';

class Recorder implements Logger {
  readonly lines: string[] = [];
  log(level: LogLevel, message: string): void {
    this.lines.push(`${level} ${message}`);
  }
  trace(m: string): void { this.log('TRACE', m); }
  debug(m: string): void { this.log('DEBUG', m); }
  info(m: string): void { this.log('INFO', m); }
  warn(m: string): void { this.log('WARN', m); }
  error(m: string): void { this.log('ERROR', m); }
}

const refused: [string, LogMetadata] = [
  'gRPC call poll_workflow_task_queue retried 7 times',
  { error: 'Status { code: Unavailable, message: "tcp connect error", source: Some(tonic::transport::Error(Transport, ConnectError(…))) }' },
];

function setup() {
  let t = 0;
  let back: () => void = () => undefined;
  const inner = new Recorder();
  const printed: string[] = [];
  const logger = new OutageLogger(inner, {
    address: '127.0.0.1:7233',
    probe: () => new Promise<void>((resolve) => (back = resolve)),
    print: (line) => printed.push(line),
    now: () => t,
  });
  return { logger, inner, printed, advance: (ms: number) => (t += ms), back: () => back() };
}

describe('worker outage logger', () => {
  it('tells an outage in one line when it starts and one when Temporal answers again', async () => {
    const s = setup();
    for (let i = 0; i < 50; i++) s.logger.warn(...refused);
    expect(s.printed).toEqual([
      'worker: Temporal at 127.0.0.1:7233 is unreachable (connection refused); polls keep retrying, and this worker says so once it is back',
    ]);
    expect(s.logger.isDown).toBe(true);
    s.advance(12_300);
    s.back();
    await Promise.resolve();
    await Promise.resolve();
    expect(s.printed[1]).toBe('worker: Temporal at 127.0.0.1:7233 is reachable again after 12.3 s (49 more retry warnings folded)');
    expect(s.inner.lines).toEqual([]);
  });

  it('drops retries already under way when it came back, but tells a later outage again', async () => {
    const s = setup();
    s.logger.warn(...refused);
    s.back();
    await Promise.resolve();
    await Promise.resolve();
    s.advance(1_000);
    s.logger.warn(...refused);
    expect(s.printed).toHaveLength(2);
    s.advance(10_000);
    s.logger.warn(...refused);
    expect(s.printed).toHaveLength(3);
    expect(s.printed[2]).toMatch(/is unreachable/);
  });

  it('passes every other message through, other gRPC failures included', () => {
    const s = setup();
    s.logger.info('Worker state changed', { state: 'RUNNING' });
    s.logger.warn('gRPC call respond_workflow_task_completed retried 3 times', { error: 'Status { code: InvalidArgument, message: "bad" }' });
    s.logger.error('Activity failed');
    expect(s.inner.lines).toEqual([
      'INFO Worker state changed',
      'WARN gRPC call respond_workflow_task_completed retried 3 times',
      'ERROR Activity failed',
    ]);
    expect(s.printed).toEqual([]);
  });
});
