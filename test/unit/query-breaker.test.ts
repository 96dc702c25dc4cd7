import { describe, expect, it } from 'vitest';
import { QueryBreaker } from '../../src/leads/query-breaker.js';

function clocked(openMs = 4000) {
  let now = 1_000;
  const breaker = new QueryBreaker(openMs, () => now);
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe('QueryBreaker', () => {
  it('lets every read query while workers answer', () => {
    const { breaker } = clocked();
    const a = breaker.admit();
    const b = breaker.admit();
    expect([a, b]).toEqual(['query', 'query']);
    breaker.answered(a);
    expect(breaker.admit()).toBe('query');
  });

  it('sends reads to history for openMs after a query goes unanswered', () => {
    const { breaker, advance } = clocked(4000);
    breaker.unanswered(breaker.admit());
    expect(breaker.admit()).toBe('history');
    advance(3999);
    expect(breaker.admit()).toBe('history');
  });

  it('then lets one probe query while the other reads keep using history', () => {
    const { breaker, advance } = clocked(4000);
    breaker.unanswered(breaker.admit());
    advance(4000);
    const probe = breaker.admit();
    expect(probe).toBe('probe');
    expect([breaker.admit(), breaker.admit()]).toEqual(['history', 'history']);
    breaker.answered(probe);
    expect(breaker.admit()).toBe('query');
  });

  it('opens again when the probe goes unanswered', () => {
    const { breaker, advance } = clocked(4000);
    breaker.unanswered(breaker.admit());
    advance(4000);
    breaker.unanswered(breaker.admit());
    expect(breaker.admit()).toBe('history');
    advance(4000);
    expect(breaker.admit()).toBe('probe');
  });

  it('lets the next read probe when a probe ends without news (no such lead)', () => {
    const { breaker, advance } = clocked(4000);
    breaker.unanswered(breaker.admit());
    advance(4000);
    breaker.released(breaker.admit());
    expect(breaker.admit()).toBe('probe');
  });

  it('opens when any query goes unanswered, even one admitted before a probe closed it', () => {
    const { breaker } = clocked();
    const early = breaker.admit();
    breaker.unanswered(early);
    expect(breaker.admit()).toBe('history');
  });
});
