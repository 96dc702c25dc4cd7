#!/usr/bin/env node
// Makes sure the alert-rule tests have Prometheus's tools: `promtool` (check config, check
// rules, test rules), `prometheus` and `alertmanager` (the end-to-end alert test runs both on
// loopback) and `amtool` (checks the Alertmanager config). They come from Debian's
// `prometheus` and `prometheus-alertmanager` packages, installed with apt-get when missing.
//
// The packages ship services. They must not start by themselves and hold ports (9090, 9093)
// on a developer's machine or a CI runner: the install runs under a policy-rc.d that refuses
// every service start, and on a machine run by systemd the two units are disabled and stopped
// afterwards. --no-install-recommends keeps prometheus-node-exporter (a recommends, another
// service on 9100) out.
//
// PROMETHEUS_BIN_DIR names a folder holding the four binaries installed some other way; it is
// then only checked, never installed. Plain Node ESM with no dependencies, like
// ensure-chromium.mjs.

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isExecutableFile } from './tools.mjs';

const DEFAULT_DIR = '/usr/bin';
const PACKAGES = ['prometheus', 'prometheus-alertmanager'];
// Each tool by the names it goes by: Debian calls Alertmanager `prometheus-alertmanager`.
const TOOLS = { promtool: ['promtool'], prometheus: ['prometheus'], alertmanager: ['prometheus-alertmanager', 'alertmanager'], amtool: ['amtool'] };
const UNITS = ['prometheus', 'prometheus-alertmanager'];
const POLICY = '/usr/sbin/policy-rc.d';
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
if (process.platform !== 'linux' || !isExecutableFile('/usr/bin/apt-get')) {
  fail([
    `${have.missing.join(', ')} missing from ${DEFAULT_DIR}, and this is not a Debian-like system with apt-get.`,
    'Install Prometheus 2.x and Alertmanager and set PROMETHEUS_BIN_DIR to the folder holding their binaries.',
  ]);
}

// apt-get needs root: as root it runs directly; otherwise through sudo, but only if sudo
// needs no password (a test run must not stop at a prompt).
const asRoot = process.getuid?.() === 0;
const sudo = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (!asRoot && !sudo) {
  fail([
    `${have.missing.join(', ')} missing, and installing them needs root (this user is not root and sudo asks for a password).`,
    `as root: apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`,
  ]);
}
/** Runs a command as root (via sudo when needed) with its output on this terminal; true on success. */
function asAdmin(command, args, env = process.env) {
  const [cmd, cmdArgs] = sudo ? ['sudo', ['-n', '-E', command, ...args]] : [command, args];
  return spawnSync(cmd, cmdArgs, { stdio: 'inherit', env }).status === 0;
}

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
function aptGet(args) {
  log(`${sudo ? 'sudo ' : ''}apt-get ${args.join(' ')}`);
  // Wait for another apt run's lock rather than fail; plain progress lines for logs.
  return asAdmin('apt-get', ['-o', 'DPkg::Lock::Timeout=600', '-o', 'Dpkg::Progress-Fancy=0', ...args], env);
}
function hasCandidates() {
  const r = spawnSync('apt-cache', ['policy', ...PACKAGES], { encoding: 'utf8' });
  return r.status === 0 && (r.stdout.match(/Candidate: (?!\(none\))\S+/g) ?? []).length === PACKAGES.length;
}

// A policy-rc.d that exits 101 tells invoke-rc.d and deb-systemd-invoke not to start
// anything. Container images often have one already; it is then left as it is.
const ownPolicy = !existsSync(POLICY);
if (ownPolicy) {
  const script = '#!/bin/sh\n# ensure-prometheus.mjs: no service starts while it installs packages.\nexit 101\n';
  if (asRoot) writeFileSync(POLICY, script, { mode: 0o755 });
  else asAdmin('sh', ['-c', `printf '%s' '${script.replace(/'/g, "'\\''")}' > ${POLICY} && chmod 755 ${POLICY}`]);
}

log(`${have.missing.join(', ')} missing: installing Debian's ${PACKAGES.join(' and ')} (once; about 40 MB) ...`);
const started = Date.now();
let installed = false;
try {
  const install = ['install', '-y', '--no-install-recommends', ...PACKAGES];
  if (hasCandidates() || aptGet(['update'])) installed = aptGet(install) || (aptGet(['update']) && aptGet(install));
} finally {
  if (ownPolicy) {
    if (asRoot) rmSync(POLICY, { force: true });
    else asAdmin('rm', ['-f', POLICY]);
  }
}
if (!installed) fail([`apt-get install failed; see its output above.`, `by hand, as root: apt-get update && apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`]);

// Under systemd the units are also enabled for the next boot: disabled, and stopped should
// anything have started them.
if (existsSync('/run/systemd/system')) {
  log(`disabling the packages' services (${UNITS.join(', ')}): the tests start their own, on free loopback ports`);
  asAdmin('systemctl', ['disable', '--now', ...UNITS]);
}
const now = probe(DEFAULT_DIR);
if (now.missing.length > 0) fail([`apt-get installed ${PACKAGES.join(' ')}, but ${now.missing.join(', ')} does not run.`]);
log(`installed ${now.versions.join('; ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
