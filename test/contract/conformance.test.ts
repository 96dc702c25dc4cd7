import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { excused, failuresOf, type BaselineEntry } from '../support/schemathesis-report.js';

// The OpenAPI document against the API it describes: schemathesis (pinned, installed by
// scripts/ensure-schemathesis.mjs) generates requests from /openapi.json, valid and invalid,
// follows the document's links (create -> read -> update -> task), and runs every check on
// every answer: status codes and bodies as documented, valid input accepted, invalid refused,
// 405 for undeclared methods. Against the real stack: Temporal dev server, a worker, the fakes.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCHEMATHESIS = join(ROOT, '.tools', 'venv', 'bin', 'schemathesis');
const BASELINE = JSON.parse(readFileSync(join(ROOT, 'test', 'contract', 'baseline.json'), 'utf8')) as { entries: BaselineEntry[] };
const SEED = '20261206';

let server: ApiServer;
let url: string;

beforeAll(async () => {
  server = await startApiServer();
  url = server.baseUrl;
});

afterAll(async () => {
  await server?.close();
});

function runSchemathesis(junitPath: string): Promise<{ code: number | null; output: string }> {
  const args = ['run', `${url}/openapi.json`, '--checks', 'all', '--max-examples', '25', '--seed', SEED];
  args.push('--request-timeout', '30', '--no-color', '--report', 'junit', '--report-junit-path', junitPath);
  return new Promise((resolve, reject) => {
    // Run in the report's directory: schemathesis keeps a .schemathesis/ cache in its cwd.
    const child = spawn(SCHEMATHESIS, args, { cwd: dirname(junitPath), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('OpenAPI conformance (schemathesis, all checks, stateful links)', () => {
  it('finds no failure outside the documented baseline', async () => {
    const junit = join(mkdtempSync(join(tmpdir(), 'schemathesis-')), 'report.xml');
    const run = await runSchemathesis(junit);
    const summary = run.output.slice(run.output.lastIndexOf('SUMMARY'));
    expect(run.output, 'schemathesis did not finish a run').toMatch(/Test cases:\s+\d+ generated/);
    const failures = failuresOf(readFileSync(junit, 'utf8'));
    const unexpected = failures.filter((f) => !excused(f, BASELINE.entries));
    console.log(`schemathesis: ${/(\d+) generated/.exec(summary)?.[1] ?? '?'} test cases, ${failures.length} failures, ${failures.length - unexpected.length} of them in the baseline`);
    expect(unexpected.map((f) => `${f.operation}: ${f.checks.join(', ')}\n${f.text}`)).toEqual([]);
    // Every operation was exercised, the stateful phase included.
    expect(summary).toMatch(/Tested: (\d+)/);
    expect(summary).toMatch(/Stateful/);
  }, 300_000);
});
