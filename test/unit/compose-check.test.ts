import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// docker-compose.yml validated by Debian's docker-compose 1.29 (`config -q`, every profile),
// installed by the script when missing. No Docker engine is needed.

describe('docker-compose.yml', () => {
  it('passes docker-compose config for every profile', { timeout: 600_000 }, () => {
    const script = fileURLToPath(new URL('../../scripts/check-compose.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 590_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/ok \(no profile\)/);
  });
});
