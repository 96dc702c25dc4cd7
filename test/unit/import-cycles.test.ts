import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Modules that import each other, even by type only or by a dynamic import, cannot be read,
// tested or moved one at a time: the graph of relative imports of the project's code (the
// service, the worker, the tooling, the bench and the scripts) must have no cycle.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CODE = ['src', 'worker', 'tooling', 'bench', 'scripts'].map((dir) => join(ROOT, dir));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each module's relative imports (static, `import type`, `export … from`, `import()`), as repository-relative .ts paths. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // preProcessFile reads the import specifiers the way the compiler does (comments and strings skipped).
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => relative(ROOT, join(dirname(file), specifier.replace(/\.js$/, '.ts'))));
    graph.set(relative(ROOT, file), [...new Set(targets)]);
  }
  return graph;
}

/** One cycle per back edge of a depth-first walk: every strongly connected group of modules shows up at least once. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (module: string) => {
    path.push(module);
    onPath.add(module);
    for (const next of graph.get(module) ?? []) {
      if (onPath.has(next)) cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!done.has(next) && graph.has(next)) visit(next);
    }
    path.pop();
    onPath.delete(module);
    done.add(module);
  };
  for (const module of [...graph.keys()].sort()) if (!done.has(module)) visit(module);
  return cycles;
}

describe('import cycles in the project code', () => {
  it('finds a cycle, through a type import or a dynamic one too (the check can fail)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(importCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    const parsed = ts.preProcessFile("import type { X } from './x.js';\nconst y = await import('./y.js');\n// import './z.js'\n", true, true);
    expect(parsed.importedFiles.map((f) => f.fileName)).toEqual(['./x.js', './y.js']);
  });

  it('has none', () => {
    const graph = importGraph(CODE.flatMap(sourceFiles));
    expect(graph.size).toBeGreaterThan(250);
    const cycles = importCycles(graph).map((cycle) => cycle.join(' -> '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });
});
