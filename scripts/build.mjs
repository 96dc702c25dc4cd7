#!/usr/bin/env node
// `npm run build`: compiles the TypeScript (scripts/tsc.mjs -p tsconfig.build.json, the
// native TypeScript 7 compiler) and the status page's browser modules (their own tsconfig:
// DOM, no Node), then bundles the workflow code once (dist/scripts/bundle-workflows.js),
// saying which step runs, a line every 10 s while it does, and how long each took: a first
// build takes a while on a small machine, an incremental one a few seconds.
//
// Plain Node ESM with no dependencies beyond the project's own TypeScript: dist/ does not
// exist yet when it runs.

import { join } from 'node:path';
import { formatDuration } from './elapsed.mjs';
import { REPO_ROOT, runWithProgress } from './tools.mjs';

const say = (line) => console.log(`build: ${line}`);
const tsc = join(REPO_ROOT, 'scripts', 'tsc.mjs');

const steps = [
  { what: 'building (tsc)', args: [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json')] },
  { what: 'building the status page script (tsc)', args: [tsc, '-p', join(REPO_ROOT, 'src', 'api', 'console', 'client', 'tsconfig.json')] },
  { what: 'bundling workflows', args: [join(REPO_ROOT, 'dist', 'scripts', 'bundle-workflows.js')] },
];

let total = 0;
for (const { what, args } of steps) {
  say(`${what} …`);
  const r = await runWithProgress(process.execPath, args, { what, say });
  total += r.seconds;
  if (!r.ok) {
    say(`${what} FAILED after ${formatDuration(r.seconds)} (${r.error?.message ?? `exit code ${r.code}`})`);
    process.exit(1);
  }
  say(`${what}: done in ${formatDuration(r.seconds)}`);
}
say(`done in ${formatDuration(total)}`);
