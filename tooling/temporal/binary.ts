/**
 * Finds this repository's root and the `temporal` CLI binary that `npm run setup`
 * (scripts/ensure-temporal.mjs) installs into it.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'automation-orchestrator';
const EXE = process.platform === 'win32' ? '.exe' : '';

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    if (process.platform !== 'win32') accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findPackageRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; ) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let cachedRoot: string | null | undefined;

/**
 * The repository root: nearest ancestor holding this project's package.json.
 * Works both from `tooling/temporal/` (tsx/vitest) and `dist/tooling/temporal/` (built).
 */
export function repoRoot(): string | undefined {
  if (cachedRoot === undefined) {
    cachedRoot =
      findPackageRoot(dirname(fileURLToPath(import.meta.url))) ?? findPackageRoot(process.cwd()) ?? null;
  }
  return cachedRoot ?? undefined;
}

/**
 * Absolute path of the `temporal` CLI: $TEMPORAL_CLI_PATH, else the path
 * recorded by `npm run setup` in `.tools/temporal-path`, else
 * `.tools/temporal/bin/temporal`, else `temporal` on PATH.
 */
export function resolveTemporalBinary(): string {
  const fromEnv = process.env.TEMPORAL_CLI_PATH?.trim();
  if (fromEnv) {
    const abs = resolve(fromEnv);
    if (!isExecutableFile(abs)) {
      throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} does not point at an executable file`);
    }
    return abs;
  }
  const found = binaryInRepo() ?? binaryOnPath();
  if (found) return found;
  throw new Error(
    'Temporal CLI not found. Run `npm run setup` (installs it into .tools/), ' +
      'or set TEMPORAL_CLI_PATH to an existing `temporal` binary.',
  );
}

/** The binary `npm run setup` recorded, else the one it installs by default. */
function binaryInRepo(): string | undefined {
  const root = repoRoot();
  if (!root) return undefined;
  try {
    const recorded = readFileSync(join(root, '.tools', 'temporal-path'), 'utf8').trim();
    if (recorded && isExecutableFile(recorded)) return recorded;
  } catch {
    // not recorded yet
  }
  const local = join(root, '.tools', 'temporal', 'bin', `temporal${EXE}`);
  return isExecutableFile(local) ? local : undefined;
}

function binaryOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, `temporal${EXE}`);
    if (isExecutableFile(candidate)) return resolve(candidate);
  }
  return undefined;
}
