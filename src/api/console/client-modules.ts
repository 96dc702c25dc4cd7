import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// The status page's browser code as the ops listener serves it: the ES modules of
// src/api/console/client/, each at /console/<name>.js (app.js imports the others itself; no
// bundler). Built, they are dist/src/api/console/client/*.js (scripts/build.mjs compiles them
// with their own tsconfig). Run from source (vitest, no dist/), this module is a .ts file and
// compiles the client's .ts files with the typescript package on first use instead: a dev
// dependency, never loaded by the built API.

/** Every module of the client folder (test/api/console.test.ts keeps this equal to the folder). */
export const CLIENT_MODULES = ['app', 'actions', 'api', 'api-types', 'charts', 'config', 'dom', 'figures', 'lists'] as const;

export interface ClientModule {
  body: string;
  /** Strong validator of the body, so a revalidating browser gets a 304. */
  etag: string;
}

export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

const CLIENT_DIR = new URL('./client/', import.meta.url);

/** The compiled modules by name, read from `dir` (built) or compiled from its .ts files (from source). */
export async function loadClientModules(dir: URL = CLIENT_DIR, fromSource = import.meta.url.endsWith('.ts')): Promise<Map<string, ClientModule>> {
  const compile = fromSource ? await sourceCompiler(dir) : undefined;
  const modules = new Map<string, ClientModule>();
  for (const name of CLIENT_MODULES) {
    const file = new URL(`${name}.${compile ? 'ts' : 'js'}`, dir);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new Error(`the status page's script is missing (${fileURLToPath(file)}): npm run build compiles it`, { cause });
    }
    const body = compile ? compile(text, fileURLToPath(file)) : text;
    modules.set(name, { body, etag: etagOf(body) });
  }
  return modules;
}

/** TypeScript to JavaScript with the client tsconfig's options (one file at a time: no type check, which npm run typecheck does). */
async function sourceCompiler(dir: URL): Promise<(source: string, fileName: string) => string> {
  const ts = (await import('typescript')).default;
  const configPath = fileURLToPath(new URL('tsconfig.json', dir));
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(`${configPath}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(dir));
  return (source, fileName) => ts.transpileModule(source, { compilerOptions: options, fileName }).outputText;
}
