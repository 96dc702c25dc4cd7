import { describe, expect, it } from 'vitest';
import { REDACTED, redactEmails, scrubLogLine } from '../../src/api/log-redaction.js';

// The email scrubber runs on every log line, the URL of unauthenticated requests included:
// it must find what the old regex found, and take time in proportion to the line, whatever
// the line holds.

// The regex the scan replaced: the reference for what counts as an address.
const OLD_EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Best of several runs, in milliseconds: the least disturbed by the rest of the machine. */
function fastest(run: () => unknown, times = 7): number {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const SIZE = 64 * 1024;

describe('email scrubbing', () => {
  it.each([
    ['failed for Ada.L@Example.com today', `failed for ${REDACTED} today`],
    ['a@b.io, c@d.example.org', `${REDACTED}, ${REDACTED}`],
    ['x@localhost is no address', 'x@localhost is no address'],
    ['a@b.com1 keeps the digit', `${REDACTED}1 keeps the digit`],
    ['a@b.c.de.f', `${REDACTED}.f`],
    ['two@@ats.com and @lead', 'two@@ats.com and @lead'],
    ['a@b.com@c.org', `${REDACTED}@c.org`],
    ["o'brien+tag@mail.co.uk", REDACTED],
  ])('redacts %j', (text, expected) => {
    expect(redactEmails(text)).toBe(expected);
  });

  it('finds exactly what the old regex found, on 5000 random lines', () => {
    const next = random(25);
    const alphabet = ['a', 'Z', '7', '.', '.', '@', '@', '-', ' ', '+', "'", 'co', 'm', '/'];
    for (let n = 0; n < 5000; n++) {
      const length = 1 + Math.floor(next() * 40);
      let line = '';
      for (let i = 0; i < length; i++) line += alphabet[Math.floor(next() * alphabet.length)];
      expect(redactEmails(line), JSON.stringify(line)).toBe(line.replace(OLD_EMAIL, REDACTED));
    }
  });

  it('scrubs a crafted 64 KB line in time proportional to its length', () => {
    // What a linear scan costs at this size: an ordinary line full of addresses to replace.
    const ordinary = 'lead ada.lovelace@engines.example failed at the CRM, retrying; '.repeat(SIZE / 64).slice(0, SIZE);
    const baseline = fastest(() => redactEmails(ordinary));
    const crafted = {
      'local part, then @': `${'a'.repeat(SIZE - 1)}@`,
      '@ after every letter': 'a@'.repeat(SIZE / 2),
      'a domain of endless labels': `a@${'b.'.repeat(SIZE / 2 - 1)}`,
      'a domain with no TLD': `a@${'b-'.repeat(SIZE / 2 - 1)}`,
      'labels of one letter': `${'a.'.repeat(SIZE / 4)}@${'a.1'.repeat(SIZE / 6)}`,
    };
    for (const [what, line] of Object.entries(crafted)) {
      expect(line.length, what).toBeGreaterThanOrEqual(SIZE - 8);
      const took = fastest(() => redactEmails(line));
      expect(took, `${what}: ${took.toFixed(2)} ms against ${baseline.toFixed(2)} ms for an ordinary line`).toBeLessThan(Math.max(baseline, 0.05) * 20);
    }
  });

  it('scrubs the log line of a request with a crafted 64 KB path as fast', () => {
    const line = (url: string) => `${JSON.stringify({ level: 30, msg: 'incoming request', req: { method: 'GET', url } })}\n`;
    const ordinary = line(`/api/leads/${'ada@engines.example/'.repeat(SIZE / 20)}`);
    const crafted = line(`/${'a'.repeat(SIZE)}@`);
    const baseline = fastest(() => scrubLogLine(ordinary));
    const took = fastest(() => scrubLogLine(crafted));
    expect(scrubLogLine(ordinary)).not.toContain('ada@');
    expect(took, `${took.toFixed(2)} ms against ${baseline.toFixed(2)} ms`).toBeLessThan(Math.max(baseline, 0.05) * 20);
  });
});
