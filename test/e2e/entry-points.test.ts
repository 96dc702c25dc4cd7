import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

// Every entry point of the build, started by plain Node as users and the Dockerfile start
// them. Vitest resolves imports more leniently than Node (a named import from a CommonJS
// package, say @temporalio/proto, works under vitest and is a SyntaxError under Node), so a
// module that links under the tests can still fail to start. Each entry is started with an
// argument or setting that makes it stop right after it loaded: a config refusal or --help.
// Node links the whole import graph before running any of it, so getting that far proves
// every import resolves.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = join(ROOT, '.data', 'entries-build');

beforeAll(async () => {
  mkdirSync(BUILD, { recursive: true });
  const tsc = join(ROOT, 'scripts', 'tsc.mjs');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--tsBuildInfoFile', join(BUILD, '.tsbuildinfo')], {
    cwd: ROOT,
  });
}, 300_000);

const BAD_PORT = { PORT: 'not-a-port' };
const ENTRIES: Array<{ file: string; args?: string[]; env?: Record<string, string> }> = [
  { file: 'src/api/server.js', env: BAD_PORT },
  { file: 'worker/main.js', env: BAD_PORT },
  { file: 'src/cli/main.js', args: ['--help'] },
  { file: 'src/automations/cli.js', args: ['--help'] },
  { file: 'scripts/stack.js', env: BAD_PORT },
  { file: 'scripts/chaos.js', args: ['--help'] },
  { file: 'scripts/cluster.js', args: ['--help'] },
  { file: 'scripts/cluster-faults.js', args: ['--help'] },
  { file: 'bench/run.js', args: ['--help'] },
  { file: 'tooling/simulators/main.js', args: ['no-such-simulator'] },
];

describe('entry points under plain Node', () => {
  it.each(ENTRIES)('$file loads every import', ({ file, args = [], env = {} }) => {
    const r = spawnSync(process.execPath, [join(BUILD, file), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const output = `${r.stdout}${r.stderr}`;
    expect(r.error, output).toBeUndefined();
    expect(output).not.toMatch(/SyntaxError|ERR_MODULE_NOT_FOUND|does not provide an export|ERR_REQUIRE_ESM|ERR_PACKAGE_PATH_NOT_EXPORTED/);
    // It stopped by itself, as its argument or setting asks (no server left running).
    expect(r.signal, output).toBeNull();
  });
});
