import { describe, expect, it } from 'vitest';
import { HEAP_NODE_OPTIONS, withHeapOptions, workerHeapAdvice } from '../../src/node-heap.js';

describe('heap settings of the API and worker processes', () => {
  it('go first in NODE_OPTIONS, so an operator flag given after them wins', () => {
    expect(withHeapOptions('api', {}).NODE_OPTIONS).toBe(HEAP_NODE_OPTIONS.api);
    const env = withHeapOptions('worker', { NODE_OPTIONS: '--max-old-space-size=1024', OTHER: 'x' });
    expect(env.NODE_OPTIONS).toBe(`${HEAP_NODE_OPTIONS.worker} --max-old-space-size=1024`);
    expect(env.OTHER).toBe('x');
  });

  it('leave room for the default worker cache, and say how much a much larger cache needs', () => {
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(HEAP_NODE_OPTIONS.worker)?.[1]);
    expect(workerHeapAdvice(oldSpaceMb, 100)).toBeUndefined();
    const advice = workerHeapAdvice(oldSpaceMb, 2000);
    expect(advice).toMatch(/WORKER_MAX_CACHED_WORKFLOWS=2000 may need about 1270 MB/);
    expect(advice).toContain('NODE_OPTIONS=--max-old-space-size=1270');
    // Node's own default limit (a quarter of the machine's memory, up to 4 GB) fits it.
    expect(workerHeapAdvice(4192, 2000)).toBeUndefined();
  });
});
