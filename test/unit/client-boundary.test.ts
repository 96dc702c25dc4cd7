import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The client and the CLI are meant to be cheap to load and to ship on their own: their
// run-time imports (type imports are erased) must not reach Fastify, Temporal or zod; the one
// package they load is the CSV reader of `ao leads import`.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;

/** Every module the entry loads at run time (relative paths), and the packages they name. */
function runtimeGraph(entry: string): { modules: string[]; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    for (const [, typeOnly, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (typeOnly) continue;
      if (specifier!.startsWith('.')) visit(join(dirname(file), specifier!.replace(/\.js$/, '.ts')));
      else packages.add(specifier!);
    }
  };
  visit(join(ROOT, entry));
  return { modules: [...modules].map((m) => relative(ROOT, m)), packages };
}

describe('client and CLI boundary', () => {
  it('loads only Node built-ins and its own modules (and the pure task statuses and API key format)', () => {
    const { modules, packages } = runtimeGraph('src/cli/main.ts');
    expect(modules).toContain('src/client/client.ts');
    expect(modules).toContain('src/cli/commands/import.ts');
    // `ao keys new` writes entries in the format the API parses: one module, node:crypto only.
    expect(modules.filter((m) => !/^src\/(client|cli)\//.test(m)).sort()).toEqual(['src/api-keys.ts', 'src/domain/task.ts']);
    // csv-parse reads `ao leads import`'s CSV files (BOM, quoted newlines, separators): a small
    // library with no dependencies of its own, unlike Fastify, Temporal or zod.
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual(['csv-parse/sync']);
  });
});
