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
import { installDebianPackages, isExecutableFile } from './tools.mjs';

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
const seconds = installDebianPackages({
  packages: [PACKAGE],
  missing: `${DEFAULT_PATH} is missing`,
  otherwise: 'Install Chromium (or Chrome) and set CHROMIUM_PATH to its binary.',
  size: 'about 100 MB download, a minute or two',
  log,
  fail,
});
const now = versionOf(DEFAULT_PATH);
if (!now) fail([`apt-get installed ${PACKAGE}, but ${DEFAULT_PATH} --version does not run.`]);
log(`installed ${now} in ${seconds.toFixed(0)} s`);
