import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rewritePorts, runnableBlocks } from '../../tooling/docs/runnable-blocks.js';

describe('runnableBlocks', () => {
  it('takes the sh blocks marked runnable, with their expected output, and leaves the rest', () => {
    const md = [
      '```sh',
      'echo not marked',
      '```',
      '<!-- runnable expect="\\"status\\":\\"queued\\"" expect=\'ok\' -->',
      '',
      '```sh',
      'curl -s localhost:3000/api/leads',
      '# {"status":"queued"}',
      '```',
      '<!-- runnable -->',
      '```bash',
      'true',
      '```',
    ].join('\n');
    expect(runnableBlocks(md)).toEqual([
      { line: 6, code: 'curl -s localhost:3000/api/leads\n# {"status":"queued"}', expect: ['"status":"queued"', 'ok'] },
      { line: 11, code: 'true', expect: [] },
    ]);
  });

  it('refuses a marker that does not stand before a shell block', () => {
    expect(() => runnableBlocks('<!-- runnable -->\n```ts\nx\n```')).toThrow(/line 1: a runnable marker/);
  });

  it('finds the README’s marked blocks', () => {
    expect(runnableBlocks(readFileSync('README.md', 'utf8')).length).toBeGreaterThanOrEqual(3);
  });
});

describe('rewritePorts', () => {
  it('moves npm start’s default ports to the test stack’s and leaves other ports alone', () => {
    const ports = new Map([[3000, 41000], [4010, 41001]]);
    expect(rewritePorts("curl -s 'localhost:3000/api/leads' http://127.0.0.1:4010/x localhost:30001 localhost:9999", ports)).toBe(
      "curl -s 'localhost:41000/api/leads' http://127.0.0.1:41001/x localhost:30001 localhost:9999",
    );
  });
});
