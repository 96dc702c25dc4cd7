import { describe, expect, it } from 'vitest';
import { DEV_SERVER_TUNING } from '../../tooling/stack/stack.js';
import { startDevServer } from '../../tooling/temporal/dev-server.js';
import { dropWorkflowTaskAttempts } from '../../tooling/temporal/task-retry-probe.js';

// The 12–17 minute stall of the 10,000-lead chaos run (issue #24): a workflow task whose
// worker died comes back only when its start-to-close timeout runs out, and the server
// stretches that timeout by 5 s, 10 s, 20 s, … (up to 10 minutes by default) from the fourth
// attempt on. The stack's dev server bounds the stretch at 10 s. Each attempt here is polled
// and dropped, as a killed worker drops it; the task timeout is 1 s.
describe('a workflow task whose worker died, on the stack’s dev server', () => {
  it('comes back within its timeout plus 10 s however often it was dropped (the server default gives 20 s by the 7th attempt)', async () => {
    const server = await startDevServer({ headless: true, dynamicConfig: { ...DEV_SERVER_TUNING } });
    try {
      const attempts = await dropWorkflowTaskAttempts(server.address, { attempts: 7, taskTimeoutMs: 1000 });
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const gaps = attempts.slice(1).map((a) => a.gapMs);
      // The first retries come back after the 1 s timeout alone: the probe drops for real.
      for (const gap of gaps.slice(0, 3)) expect(gap).toBeLessThan(3000);
      // The 5th attempt already carries a backoff (about 5 s): the server's stretch is on.
      expect(gaps[3]).toBeGreaterThan(3500);
      // The 7th comes after 1 s + at most 10 s (unbounded: 1 s + ~20 s, 1 s + 10 min by the 11th).
      expect(gaps[5], `gaps between attempts: ${gaps.join(', ')} ms`).toBeLessThan(14_000);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
