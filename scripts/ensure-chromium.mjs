#!/usr/bin/env node
// Makes sure a Chromium the browser tests can drive (playwright-core, test/e2e/console.test.ts)
// is on the machine: Debian's own `chromium` package, installed with apt-get when missing.
// Playwright's downloaded browsers are not used: they need a network route to Playwright's
// CDN and bring their own copies of system libraries; Debian's package is patched, signed
// and updated with the rest of the system.
//
// CHROMIUM_PATH names another binary (a Chrome or Chromium installed some other way); it is
// then only checked, never installed. Plain Node ESM with no dependencies, like
// ensure-temporal.mjs.

import { spawnSync } from 'node:child_process';
import { isExecutableFile } from './tools.mjs';

const DEFAULT_PATH = '/usr/bin/chromium';
const PACKAGE = 'chromium';
const log = (msg) => console.log(`chromium: ${msg}`);

function fail(lines) {
  console.error(['chromium: the browser tests need Chromium and it could not be installed.', ...lines.map((l) => `  ${l}`)].join('\n'));
  process.exit(1);
}

/** `chromium --version` of a binary, or undefined when it does not run. */
function versionOf(path) {
  if (!isExecutableFile(path)) return undefined;
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const wanted = process.env.CHROMIUM_PATH?.trim() || DEFAULT_PATH;
const have = versionOf(wanted);
if (have) {
  log(`using ${wanted} (${have})`);
  process.exit(0);
}
if (wanted !== DEFAULT_PATH) fail([`CHROMIUM_PATH=${wanted} is not a Chromium that runs (\`${wanted} --version\` failed).`]);
if (process.platform !== 'linux' || !isExecutableFile('/usr/bin/apt-get')) {
  fail([
    `${DEFAULT_PATH} is missing and this is not a Debian-like system with apt-get.`,
    'Install Chromium (or Chrome) and set CHROMIUM_PATH to its binary.',
  ]);
}

// apt-get needs root: as root it runs directly; otherwise through sudo, but only if sudo
// needs no password (a test run must not stop at a prompt).
const asRoot = process.getuid?.() === 0;
const sudo = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (!asRoot && !sudo) {
  fail([
    `${DEFAULT_PATH} is missing, and installing it needs root (this user is not root and sudo asks for a password).`,
    `as root: apt-get install -y --no-install-recommends ${PACKAGE}`,
  ]);
}

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
/** Runs apt-get (via sudo when needed) with its output on this terminal; true on success. */
function aptGet(args) {
  const aptArgs = [
    // Another apt run on the machine holds the lock: wait for it rather than fail at once.
    '-o', 'DPkg::Lock::Timeout=600',
    // Plain progress lines: the output goes to a log as often as to a terminal.
    '-o', 'Dpkg::Progress-Fancy=0',
    ...args,
  ];
  const [command, commandArgs] = sudo ? ['sudo', ['-n', '-E', 'apt-get', ...aptArgs]] : ['apt-get', aptArgs];
  log(`${sudo ? 'sudo ' : ''}apt-get ${args.join(' ')}`);
  const r = spawnSync(command, commandArgs, { stdio: 'inherit', env });
  return r.status === 0;
}

/** True when apt knows a version of the package it could install (its lists may be empty or stale). */
function hasCandidate() {
  const r = spawnSync('apt-cache', ['policy', PACKAGE], { encoding: 'utf8' });
  return r.status === 0 && /Candidate: (?!\(none\))\S+/.test(r.stdout);
}

log(`${DEFAULT_PATH} is missing: installing Debian's ${PACKAGE} package (once; about 100 MB download, a minute or two) ...`);
const started = Date.now();
if (!hasCandidate() && !aptGet(['update'])) fail(['apt-get update failed (is a Debian mirror reachable?); see its output above.']);
let installed = aptGet(['install', '-y', '--no-install-recommends', PACKAGE]);
if (!installed && hasCandidate()) {
  // Stale lists name files the mirror no longer has: refresh them once and try again.
  installed = aptGet(['update']) && aptGet(['install', '-y', '--no-install-recommends', PACKAGE]);
}
if (!installed) fail([`apt-get install ${PACKAGE} failed; see its output above.`, `by hand, as root: apt-get update && apt-get install -y --no-install-recommends ${PACKAGE}`]);
const now = versionOf(DEFAULT_PATH);
if (!now) fail([`apt-get installed ${PACKAGE}, but ${DEFAULT_PATH} --version does not run.`]);
log(`installed ${now} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
