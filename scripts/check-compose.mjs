#!/usr/bin/env node
// Validates docker-compose.yml with Debian's `docker-compose` (1.29): `config -q` without a
// profile and with each profile the file defines, with the DEPLOY_* settings an operator
// would pass set to dummy values. `config` needs no Docker engine. Installs the Debian
// package when the command is missing (root only); fails naming what went wrong.
//
//   node scripts/check-compose.mjs        (the unit tier runs it: test/unit/compose-check.test.ts)
//
// Plain Node ESM with no dependencies, like the other setup scripts.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { hasCommand, REPO_ROOT } from './tools.mjs';

const FILE = join(REPO_ROOT, 'docker-compose.yml');
const PROFILES = [[], ['dev-fakes'], ['monitoring'], ['dev-fakes', 'monitoring']];
const DUMMY_ENV = {
  DEPLOY_API_KEYS: 'compose-check:read+write+admin:sha256:14f44f2da2954271b2f882c9b6ba2de13fb2d6d929fb6b088703a62852fb8e44',
  DEPLOY_UNSUBSCRIBE_SECRET: 'compose-check-secret-0123456789',
  DEPLOY_UNSUBSCRIBE_BASE_URL: 'https://leads.example.com/unsubscribe',
  DEPLOY_SMTP_FROM: 'Sales <sales@leads.acme.test>',
  DEPLOY_MESSAGE_ID_DOMAIN: 'leads.acme.test',
  DEPLOY_TEMPORAL_CODEC_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  DEPLOY_POSTGRES_PASSWORD: 'compose-check-password',
  DEPLOY_GRAFANA_ADMIN_PASSWORD: 'compose-check-password',
};
const log = (msg) => console.log(`check-compose: ${msg}`);

function fail(msg) {
  console.error(`check-compose: ${msg}`);
  process.exit(1);
}

function ensureDockerCompose() {
  if (hasCommand('docker-compose', ['version'])) return;
  if (process.platform !== 'linux' || !hasCommand('apt-get', ['--version'])) {
    fail('`docker-compose` is missing and this is not a Debian-like system: install docker-compose 1.29 (Debian package `docker-compose`)');
  }
  if (process.getuid?.() !== 0) {
    fail('`docker-compose` is missing; install it as root: apt-get install -y --no-install-recommends docker-compose');
  }
  log('installing Debian package docker-compose (apt-get, once) …');
  // Output goes to the terminal: apt prints its own progress.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker-compose'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    log('apt-get install failed; refreshing the package lists and trying again …');
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'docker-compose'], { stdio: 'inherit', env });
  }
  if (r.status !== 0 || !hasCommand('docker-compose', ['version'])) {
    fail(`could not install docker-compose with apt-get (exit ${r.status ?? r.error?.message})`);
  }
}

function version() {
  const r = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  return r.stdout.trim() || 'unknown version';
}

ensureDockerCompose();
log(`docker-compose ${version()}`);
let failed = 0;
for (const profiles of PROFILES) {
  const args = ['-f', FILE, ...profiles.flatMap((p) => ['--profile', p]), 'config', '-q'];
  const what = profiles.length ? `profiles ${profiles.join(', ')}` : 'no profile';
  const r = spawnSync('docker-compose', args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...DUMMY_ENV },
    timeout: 120_000,
  });
  // 1.29 warns on stderr for things it ignores; a warning is a finding too.
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.status === 0 && output === '') {
    log(`ok (${what})`);
  } else {
    failed += 1;
    console.error(`check-compose: docker-compose ${args.join(' ')} (${what}) ${r.status === 0 ? 'warned' : `failed (exit ${r.status ?? r.error?.message})`}:\n${output}`);
  }
}
if (failed > 0) process.exit(1);
