#!/usr/bin/env node
// `tsc` for the npm scripts and scripts/build.mjs: TypeScript 7's native compiler, with the
// arguments given. It is installed under the alias `typescript-native` because the name
// `typescript` stays on 5.9 for typescript-eslint, which needs the JavaScript compiler API
// that 7.0 no longer ships (docs/dependencies.md). Both packages declare a `tsc` bin, so
// node_modules/.bin/tsc is whichever npm linked last: the scripts name this file instead.
//
// Plain Node ESM: it runs before dist/ exists.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The package's exports map hides bin/tsc, so locate the package and take its bin by path.
const pkg = createRequire(import.meta.url).resolve('typescript-native/package.json');
// bin/tsc reads process.argv.slice(2), which is the same here, and replaces this process
// with the native compiler (execve) where Node can.
await import(pathToFileURL(join(dirname(pkg), 'bin', 'tsc')).href);
