import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { launchOnHost, tcpOpen, waitUntil, type HostProcess } from './host-process.js';
import { DATABASE } from './server-config.js';
import { POSTGRES_PORT, type ClusterTopology, type HostSpec } from './topology.js';

/**
 * PostgreSQL from Debian's packages, on the cluster's `db` host: its own data directory
 * (initdb on first use), listening only on the host's address, password login for the
 * cluster's subnet, and one login role for Temporal. Runs as the `postgres` user, which
 * the Debian package creates (PostgreSQL refuses to run as root).
 */

const OWNER = 'postgres';

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'postgres')));
  if (!dir) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)');
  return dir;
}

function ownerIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', OWNER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', OWNER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** True when the `postgres` user can reach (traverse into) `dir`. */
function reachableByOwner(dir: string): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${OWNER}`, `--regid=${OWNER}`, '--init-groups', '--', 'test', '-x', dir]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where PostgreSQL keeps the cluster's data: `<dataDir>/postgres` when the `postgres` user can
 * reach it, else (a checkout inside a private directory, such as a CI job's 0700 mktemp)
 * /var/tmp/ao-cluster-pg-<hash of dataDir>, which survives reboots like the checkout does.
 */
export function postgresDataDir(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  if (reachableByOwner(dataDir)) return join(dataDir, 'postgres');
  return join('/var/tmp', `ao-cluster-pg-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
}

/** initdb once; pg_hba then admits the cluster's subnet with a password. */
export function initDataDir(dataDir: string, topology: ClusterTopology): void {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const { uid, gid } = ownerIds();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!reachableByOwner(dirname(dataDir))) {
    throw new Error(`PostgreSQL runs as "${OWNER}", which cannot reach ${dirname(dataDir)}: choose a data directory every user can traverse`);
  }
  chownSync(dataDir, uid, gid);
  execFileSync(
    'setpriv',
    [`--reuid=${OWNER}`, `--regid=${OWNER}`, '--init-groups', '--', join(postgresBinDir(), 'initdb'),
      '-D', dataDir, '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-instructions'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${topology.subnet}.0/24 scram-sha-256\n`);
}

export function startPostgres(db: HostSpec, dataDir: string, logDir: string): HostProcess {
  return launchOnHost({
    name: 'postgres',
    host: db,
    user: OWNER,
    command: join(postgresBinDir(), 'postgres'),
    args: [
      '-D', dataDir,
      '-c', `listen_addresses=${db.address}`,
      '-c', `port=${POSTGRES_PORT}`,
      '-c', `unix_socket_directories=${dataDir}`,
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=256MB',
    ],
    logDir,
  });
}

export async function waitForPostgres(db: HostSpec, process: HostProcess, timeoutMs = 60_000): Promise<void> {
  await waitUntil('PostgreSQL', () => tcpOpen(db.address, POSTGRES_PORT), timeoutMs, process);
}

/** The `temporal` role (idempotent), through the server's own socket as the superuser. */
export function ensureTemporalRole(db: HostSpec, dataDir: string): void {
  const sql =
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DATABASE.user}') THEN ` +
    `CREATE ROLE ${DATABASE.user} LOGIN CREATEDB PASSWORD '${DATABASE.password}'; END IF; END $$;`;
  execFileSync(
    'ip',
    ['netns', 'exec', db.ns, 'setpriv', `--reuid=${OWNER}`, `--regid=${OWNER}`, '--init-groups', '--',
      join(postgresBinDir(), 'psql'), '-h', dataDir, '-p', String(POSTGRES_PORT), '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', sql],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}
