import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../progress.js';

// A build of any git ref, for the A/B benchmark: a detached git worktree under .data/ab/,
// with this checkout's node_modules when the lockfiles match (npm ci otherwise), built with
// the ref's own `npm run build`. Kept between runs: a second A/B against the same commit
// starts at once.

export interface BuiltRef {
  ref: string;
  /** Short commit id, or "working tree" for the checkout itself. */
  commit: string;
  /** Repository root whose dist/ holds the build. */
  root: string;
}

const git = (repo: string, args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} in ${cwd} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

/**
 * This checkout as it is, uncommitted changes included: `npm run bench` has just built it,
 * and this very process runs from that build.
 */
export function workingTree(repo: string): BuiltRef {
  const dirty = git(repo, ['status', '--porcelain', '--untracked-files=no']).length > 0;
  return { ref: 'working tree', commit: `${git(repo, ['rev-parse', '--short=12', 'HEAD'])}${dirty ? '+changes' : ''}`, root: repo };
}

export async function buildRef(repo: string, ref: string): Promise<BuiltRef> {
  let commit: string;
  try {
    commit = git(repo, ['rev-parse', '--verify', '--short=12', `${ref}^{commit}`]);
  } catch {
    throw new Error(`bench ab: ${ref} is not a commit of this repository`);
  }
  const dir = join(repo, '.data', 'ab', commit);
  const marker = join(dir, 'dist', '.ab-built');
  if (existsSync(marker)) {
    log(`${ref} (${commit}): reusing the build in ${dir}`);
    return { ref, commit, root: dir };
  }
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(join(repo, '.data', 'ab'), { recursive: true });
    git(repo, ['worktree', 'prune']);
    log(`${ref} (${commit}): checking out into ${dir} …`);
    git(repo, ['worktree', 'add', '--force', '--detach', dir, commit]);
  }
  if (!existsSync(join(dir, 'node_modules'))) {
    const sameLock = readFileSync(join(repo, 'package-lock.json'), 'utf8') === readFileSync(join(dir, 'package-lock.json'), 'utf8');
    if (sameLock) {
      symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    } else {
      log(`${ref} (${commit}): its package-lock.json differs; npm ci …`);
      await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
    }
  }
  log(`${ref} (${commit}): npm run build …`);
  await run('npm', ['run', '--silent', 'build'], dir);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return { ref, commit, root: dir };
}
