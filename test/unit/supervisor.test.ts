import { describe, expect, it } from 'vitest';
import { restartDelay, startChild, StartupError } from '../../tooling/stack/supervisor.js';

const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });

describe('startChild', () => {
  it('resolves on the ready line and stops the child with SIGTERM', async () => {
    const child = await startChild(
      { name: 'ready', ...node("console.log('up and listening'); setInterval(() => {}, 1000)"), readyWhen: /listening/ },
      () => {},
    );
    expect(child.pid).toBeGreaterThan(0);
    await child.stop(2000);
  });

  it('names the reason a child printed when it dies before it is ready', async () => {
    // Lines written just before an immediate exit: the reason is the last one. ('exit' may
    // come before the pipes are read to the end; the supervisor waits for 'close'.) Written
    // with writeSync: on Node 26 a console.error to a pipe right before process.exit() can
    // be cut off in the child itself (lines lost before they reach the pipe), which made
    // this test fail now and then for a reason outside the supervisor.
    const script =
      "const { writeSync } = require('node:fs'); for (let i = 0; i < 200; i++) writeSync(2, 'noise ' + i + '\\n'); writeSync(2, 'EADDRINUSE 127.0.0.1:7233\\n'); process.exit(3)";
    const started = startChild({ name: 'early', ...node(script), readyWhen: /never/ }, () => {});
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow(/code 3[\s\S]*EADDRINUSE 127\.0\.0\.1:7233/);
  });

  it('gives up when the ready line never comes', async () => {
    const started = startChild(
      { name: 'silent', ...node('setInterval(() => {}, 1000)'), readyWhen: /never/, readyTimeoutMs: 300 },
      () => {},
    );
    await expect(started).rejects.toThrow(/did not become ready within 300 ms/);
  });

  it('backs off restarts in a row from 0.5 s to 30 s', () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(restartDelay)).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });

  it('starts the backoff again for a process that had been up a while: every kill comes back in about 0.5 s', async () => {
    const child = await startChild(
      { name: 'killed', ...node("console.log('up'); setInterval(() => {}, 1000)"), readyWhen: /up/, restart: true, stableAfterMs: 200 },
      () => {},
    );
    try {
      // Without the reset the third restart in a row would wait 2 s, the fourth 4 s.
      for (let kill = 1; kill <= 4; kill++) {
        await new Promise((r) => setTimeout(r, 300));
        const before = child.pid;
        const killedAt = Date.now();
        child.kill();
        while (child.pid === before) await new Promise((r) => setTimeout(r, 20));
        expect(Date.now() - killedAt, `restart #${kill}`).toBeLessThan(1_500);
      }
      expect(child.restarts).toBe(4);
    } finally {
      await child.stop(2000);
    }
  });
});
