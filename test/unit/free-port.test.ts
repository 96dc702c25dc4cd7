import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { getFreePort } from '../../tooling/temporal/ports.js';

describe('getFreePort', () => {
  it('picks bindable ports below the ephemeral range', async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => getFreePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      await new Promise<void>((resolve, reject) => {
        const srv = createServer().once('error', reject);
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
      });
    }
  });
});
