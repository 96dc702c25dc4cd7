import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { rewritePorts, runnableBlocks } from '../../tooling/docs/runnable-blocks.js';
import { npmStart, type NpmStart } from '../support/npm-start.js';

// The README's command blocks marked `<!-- runnable -->` (docs/contributing.md), run through
// bash against a stack started as the README starts it, `npm start`, on free ports: each
// block's default ports (npm start's, from the configuration schema) become this stack's.

const run = promisify(execFile);
const blocks = runnableBlocks(readFileSync('README.md', 'utf8'));

const free = {
  PORT: await getFreePort(),
  OPS_PORT: await getFreePort(),
  TEMPORAL_PORT: await getFreePort(),
  TEMPORAL_UI_PORT: await getFreePort(),
  CRM_PORT: await getFreePort(),
  SMTP_PORT: await getFreePort(),
  SMTP_SINK_HTTP_PORT: await getFreePort(),
};
const env = {
  PORT: String(free.PORT),
  OPS_PORT: String(free.OPS_PORT),
  TEMPORAL_ADDRESS: `127.0.0.1:${free.TEMPORAL_PORT}`,
  TEMPORAL_UI_PORT: String(free.TEMPORAL_UI_PORT),
  CRM_BASE_URL: `http://127.0.0.1:${free.CRM_PORT}`,
  SMTP_PORT: String(free.SMTP_PORT),
  SMTP_SINK_HTTP_PORT: String(free.SMTP_SINK_HTTP_PORT),
  TEMPORAL_DB_FILE: join(mkdtempSync(join(tmpdir(), 'ao-readme-')), 'temporal.sqlite'),
  LOG_LEVEL: 'warn',
};
const defaults = configSchema.parse({});
const ports = new Map<number, number>([
  [defaults.PORT, free.PORT],
  [defaults.OPS_PORT, free.OPS_PORT],
  [Number(new URL(defaults.CRM_BASE_URL).port), free.CRM_PORT],
  [defaults.SMTP_SINK_HTTP_PORT, free.SMTP_SINK_HTTP_PORT],
  [defaults.TEMPORAL_UI_PORT, free.TEMPORAL_UI_PORT],
]);

let stack: NpmStart | undefined;
beforeAll(async () => {
  stack = await npmStart(env);
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the README’s runnable command blocks', { timeout: 60_000 }, () => {
  it('are there to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  // In README order, on one stack: a later block may read what an earlier one wrote.
  for (const block of blocks) {
    it(`README.md:${block.line} runs as printed`, async () => {
      const script = rewritePorts(block.code, ports);
      const result = await run('bash', ['-e', '-o', 'pipefail', '-c', script], { timeout: 30_000 }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
      );
      const shown = `--- script ---\n${script}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
      expect(result.code, shown).toBe(0);
      for (const text of block.expect) expect(result.stdout, shown).toContain(text);
    });
  }
});
