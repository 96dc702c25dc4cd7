#!/usr/bin/env node
// Builds the real Temporal server (`temporal-server`) and its SQL schema tool from Go
// modules into .tools/temporal-server/<version>/, for the local cluster (`npm run cluster`).
// The dev server in the `temporal` CLI is the same server code in one process on SQLite;
// the cluster runs it as separate frontend, matching and history processes on PostgreSQL.
//
// The PostgreSQL schema files ship inside the module; they are copied next to the
// binaries (schema/) so the cluster tooling needs no Go at run time.
//
// PostgreSQL's server comes from Debian's package; installed here when missing.
//
// Plain Node ESM with no dependencies: it runs before `npm run build`.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { EXE, isExecutableFile, rel, TOOLS_DIR } from './tools.mjs';

// v1.32.2 asks for Go 1.26.10; v1.32.1 builds with the Go 1.26.8 this machine has.
export const SERVER_VERSION = 'v1.32.1';
const MODULE = 'go.temporal.io/server';
const TARGETS = [
  { pkg: `${MODULE}/cmd/server`, built: 'server', name: 'temporal-server' },
  { pkg: `${MODULE}/cmd/tools/sql`, built: 'sql', name: 'temporal-sql-tool' },
];

const DIR = join(TOOLS_DIR, 'temporal-server', SERVER_VERSION);
const log = (msg) => console.log(`temporal server: ${msg}`);

function goEnv(name) {
  const r = spawnSync('go', ['env', name], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

/** `go install` with a line of progress every 15 s: a first build takes minutes. */
function goInstall(pkg) {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    log(`building ${pkg}@${SERVER_VERSION} from Go modules (first time: 5-15 min on 2 cores) …`);
    const child = spawn('go', ['install', `${pkg}@${SERVER_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: DIR, GOFLAGS: '-trimpath', GOTOOLCHAIN: 'local' },
    });
    const ticker = setInterval(() => log(`  still building (${Math.round((Date.now() - started) / 1000)} s) …`), 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) {
        log(`  built in ${Math.round((Date.now() - started) / 1000)} s`);
        resolvePromise();
      } else reject(new Error(`go install ${pkg}@${SERVER_VERSION} failed (exit ${code})`));
    });
  });
}

/** PostgreSQL's server from Debian's package, when the machine has none (apt-get, as root). */
function ensurePostgres() {
  const root = '/usr/lib/postgresql';
  const has = existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, 'bin', 'postgres')));
  if (has) return;
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL server binaries are missing and only root can install them (apt-get install postgresql)');
  log('installing PostgreSQL from Debian (apt-get install postgresql) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', 'postgresql']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
}

async function main() {
  ensurePostgres();
  if (spawnSync('go', ['version']).status !== 0) {
    console.error('temporal server: the cluster needs Go (https://go.dev) to build the Temporal server; `go version` failed.');
    process.exit(1);
  }
  mkdirSync(DIR, { recursive: true });
  for (const target of TARGETS) {
    const final = join(DIR, `${target.name}${EXE}`);
    if (isExecutableFile(final)) continue;
    await goInstall(target.pkg);
    const built = join(DIR, `${target.built}${EXE}`);
    renameSync(built, final);
    if (!isExecutableFile(final)) throw new Error(`${rel(final)} is missing after go install`);
  }
  const schema = join(DIR, 'schema');
  if (!existsSync(join(schema, 'temporal', 'versioned'))) {
    const fromModule = join(goEnv('GOMODCACHE') ?? '', `${MODULE}@${SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
    if (!existsSync(join(fromModule, 'temporal', 'versioned'))) {
      spawnSync('go', ['mod', 'download', `${MODULE}@${SERVER_VERSION}`], { stdio: 'inherit', env: { ...process.env, GOTOOLCHAIN: 'local' } });
    }
    cpSync(fromModule, schema, { recursive: true });
  }
  log(`${rel(DIR)}: temporal-server, temporal-sql-tool and the PostgreSQL schema (${SERVER_VERSION})`);
}

main().catch((err) => {
  console.error(`temporal server: ${err.message}`);
  process.exit(1);
});
