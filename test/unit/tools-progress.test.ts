import { describe, expect, it } from 'vitest';
import { runWithProgress } from '../../scripts/tools.mjs';

// The setup scripts' long installs (pip, go install): the command's own output stays on
// ours, and a line says how long it has run while it prints nothing.

describe('runWithProgress', () => {
  it('says what runs with its elapsed time until the command ends', async () => {
    const lines: string[] = [];
    const r = await runWithProgress(process.execPath, ['-e', 'setTimeout(() => {}, 1200)'], { what: 'pip install x', say: (l: string) => lines.push(l), everyMs: 500 });
    expect(r.ok).toBe(true);
    expect(r.seconds).toBeGreaterThan(1);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^pip install x … elapsed \ds$/);
  });

  it('reports a failing or missing command', async () => {
    const failed = await runWithProgress(process.execPath, ['-e', 'process.exit(3)'], { what: 'x', say: () => {} });
    expect(failed).toMatchObject({ ok: false, code: 3 });
    const missing = await runWithProgress('no-such-command-for-this-test', [], { what: 'x', say: () => {} });
    expect(missing.ok).toBe(false);
    expect(missing.error?.code).toBe('ENOENT');
  });
});
