#!/usr/bin/env node
// Makes sure schemathesis (the OpenAPI conformance tester the contract tests run) is
// installed, pinned, in the project's own virtualenv `.tools/venv`: schemathesis has
// dependencies of its own, so a virtualenv keeps them off the machine's Python.
//
// Plain Node ESM with no dependencies, like ensure-temporal.mjs.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rel, TOOLS_DIR } from './tools.mjs';

const VERSION = '4.32.5';
const VENV = join(TOOLS_DIR, 'venv');
const PYTHON = join(VENV, 'bin', 'python');
const BINARY = join(VENV, 'bin', 'schemathesis');

const log = (msg) => console.log(`schemathesis: ${msg}`);

function installedVersion() {
  if (!existsSync(BINARY)) return undefined;
  const out = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  return /version (\S+)/.exec(out.stdout ?? '')?.[1];
}

const have = installedVersion();
if (have === VERSION) {
  log(`using ${rel(BINARY)} ${VERSION}`);
  process.exit(0);
}
try {
  if (!existsSync(PYTHON)) {
    log(`creating ${rel(VENV)} ...`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  }
  log(`installing schemathesis==${VERSION} into ${rel(VENV)} (once; about 10 s) ...`);
  execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${VERSION}`], { stdio: 'inherit' });
} catch (err) {
  console.error(
    [
      `schemathesis: could not install schemathesis==${VERSION} (${err instanceof Error ? err.message.split('\n')[0] : String(err)}).`,
      `  by hand: python3 -m venv ${rel(VENV)} && ${rel(PYTHON)} -m pip install schemathesis==${VERSION}`,
      'Python 3 with venv and pip, and network access to PyPI, are needed.',
    ].join('\n'),
  );
  process.exit(1);
}
const now = installedVersion();
if (now !== VERSION) {
  console.error(`schemathesis: installed, but ${rel(BINARY)} reports ${now ?? 'nothing'} instead of ${VERSION}`);
  process.exit(1);
}
log(`installed ${rel(BINARY)} ${VERSION}`);
