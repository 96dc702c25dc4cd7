#!/usr/bin/env node
// Makes sure the alert-rule tests have Prometheus's tools: `promtool` (check config, check
// rules, test rules), `prometheus` and `alertmanager` (the end-to-end alert test runs both on
// loopback) and `amtool` (checks the Alertmanager config). They come from Debian's
// `prometheus` and `prometheus-alertmanager` packages, installed with apt-get when missing.
//
// The packages ship services. They must not start by themselves and hold ports (9090, 9093)
// on a developer's machine or a CI runner: installDebianPackages (tools.mjs) installs them with
// no service start, and on a machine run by systemd disables and stops the two units
// afterwards. --no-install-recommends keeps prometheus-node-exporter (a recommends, another
// service on 9100) out.
//
// PROMETHEUS_BIN_DIR names a folder holding the four binaries installed some other way; it is
// then only checked, never installed. Plain Node ESM with no dependencies, like
// ensure-chromium.mjs.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { installDebianPackages, isExecutableFile } from './tools.mjs';

const DEFAULT_DIR = '/usr/bin';
const PACKAGES = ['prometheus', 'prometheus-alertmanager'];
// Each tool by the names it goes by: Debian calls Alertmanager `prometheus-alertmanager`.
const TOOLS = { promtool: ['promtool'], prometheus: ['prometheus'], alertmanager: ['prometheus-alertmanager', 'alertmanager'], amtool: ['amtool'] };
const log = (msg) => console.log(`prometheus: ${msg}`);

function fail(lines) {
  console.error(['prometheus: the alert tests need promtool, prometheus, alertmanager and amtool, and they could not be installed.', ...lines.map((l) => `  ${l}`)].join('\n'));
  process.exit(1);
}

/** `<tool> --version`'s first line for each tool in `dir`, or the names of those that do not run. */
function probe(dir) {
  const versions = [];
  const missing = [];
  for (const [tool, names] of Object.entries(TOOLS)) {
    const path = names.map((name) => join(dir, name)).find(isExecutableFile);
    const r = path ? spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 }) : undefined;
    // Some print their version on stdout, some on stderr.
    const line = r?.status === 0 ? `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() : undefined;
    if (line) versions.push(line);
    else missing.push(tool);
  }
  return { versions, missing };
}

const wanted = process.env.PROMETHEUS_BIN_DIR?.trim() || DEFAULT_DIR;
const have = probe(wanted);
if (have.missing.length === 0) {
  log(`using ${wanted} (${have.versions[0]})`);
  process.exit(0);
}
if (wanted !== DEFAULT_DIR) fail([`PROMETHEUS_BIN_DIR=${wanted} lacks a working ${have.missing.join(', ')}.`]);
const seconds = installDebianPackages({
  packages: PACKAGES,
  missing: `${have.missing.join(', ')} missing from ${DEFAULT_DIR}`,
  otherwise: 'Install Prometheus 2.x and Alertmanager and set PROMETHEUS_BIN_DIR to the folder holding their binaries.',
  size: 'about 40 MB',
  // The tests start their own, on free loopback ports.
  services: ['prometheus', 'prometheus-alertmanager'],
  log,
  fail,
});
const now = probe(DEFAULT_DIR);
if (now.missing.length > 0) fail([`apt-get installed ${PACKAGES.join(' ')}, but ${now.missing.join(', ')} does not run.`]);
log(`installed ${now.versions.join('; ')} in ${seconds.toFixed(0)} s`);
