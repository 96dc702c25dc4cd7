import { readFileSync } from 'node:fs';
import { DefaultLogger } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { OutageLogger } from '../../worker/outage-logger.js';
import { scrubbingLogFunction } from '../../worker/scrubbing-log.js';

// The worker's Runtime logger: what the SDK logs for a failed activity (its error, with the
// SMTP server's rejection quoting the recipient) is written without the address.

function workerLogger() {
  const lines: string[] = [];
  // Composed as worker/main.ts installs it.
  const logger = new OutageLogger(new DefaultLogger('INFO', scrubbingLogFunction((line) => lines.push(line))), {
    address: '127.0.0.1:7233',
    probe: async () => undefined,
    print: (line) => lines.push(line),
  });
  return { logger, lines };
}

describe('worker log scrubbing', () => {
  it('writes an activity failure quoting an address without the address', () => {
    const { logger, lines } = workerLogger();
    const rejection = Object.assign(new Error('Can\'t send mail - all recipients were rejected: 550 5.1.1 <ada.lovelace@engines.example>: Recipient address rejected'), {
      response: '550 5.1.1 <ada.lovelace@engines.example>: Recipient address rejected',
    });
    logger.warn('Activity failed', { activityType: 'sendAutomationEmail', error: rejection, to: 'grace@navy.example' });
    logger.info('sending to bob@example.org with Authorization: Bearer abc.def-123');
    expect(lines).toHaveLength(2);
    const text = lines.join('');
    expect(text).not.toMatch(/ada\.lovelace|grace@|bob@|abc\.def/);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[WARN\] Activity failed /);
    expect(lines[0]).toContain('550 5.1.1 <[redacted]>: Recipient address rejected');
    expect(lines[0]).toContain("activityType: 'sendAutomationEmail'");
    expect(lines[1]).toContain('sending to [redacted] with Authorization: Bearer [redacted]');
  });

  it('keeps the level filter', () => {
    const { logger, lines } = workerLogger();
    logger.debug('a@b.com');
    expect(lines).toEqual([]);
  });

  it('is the logger the worker installs', () => {
    const main = readFileSync(new URL('../../worker/main.ts', import.meta.url), 'utf8');
    expect(main).toMatch(/new DefaultLogger\('INFO', scrubbingLogFunction\(\)\)/);
  });
});
