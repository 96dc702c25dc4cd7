import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchTransport, type Transport, type TransportRequest } from '../../src/client/index.js';
import { run } from '../../src/cli/run.js';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { uniqueEmail } from '../support/harness.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';

// The CLI in-process (`run(argv, io)` with captured output) against the real API, and once
// as a process from its sources, as `ao` runs it.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let api: ApiServer;

beforeAll(async () => {
  api = await startApiServer();
});
afterAll(async () => {
  await api?.close();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function ao(argv: string[], transport?: Transport): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { AO_URL: api.baseUrl },
    ...(transport ? { transport } : {}),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('ao leads and tasks', () => {
  it('creates a lead, watches its task to the end, reads, patches and replaces it', async () => {
    const email = uniqueEmail('cli');
    const created = await ao(['leads', 'create', '--email', email, '--first-name', 'ada', '--tag', 'vip', '--custom', 'plan=pro', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const receipt = JSON.parse(created.stdout) as { id: string; task_id: string };

    const watched = await ao(['tasks', 'watch', receipt.task_id, '--timeout', '45']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`task ${receipt.task_id} (lead_process, lead ${receipt.id})`);
    expect(watched.stdout).toMatch(/task: completed/);
    expect(watched.stdout).toMatch(/ {2}email_send: completed/);

    const lead = JSON.parse((await ao(['leads', 'get', receipt.id, '--json'])).stdout);
    expect(lead).toMatchObject({ email, first_name: 'Ada', tags: ['vip'], custom: { plan: 'pro' } });

    const patched = await ao(['leads', 'patch', receipt.id, '--stage', 'qualified', '--clear', 'first-name']);
    expect(patched.code, patched.stderr).toBe(0);
    expect(patched.stdout).toMatch(new RegExp(`^queued: lead ${receipt.id}, task \\S+\\nfollow it: ao tasks watch \\S+\\n$`));
    const replaced = await ao(['leads', 'replace', receipt.id, '--data', JSON.stringify({ email, company: 'Navy' }), '--last-name', 'Hopper']);
    expect(replaced.code, replaced.stderr).toBe(0);
    const taskId = /task (\S+)\n/.exec(replaced.stdout)![1]!;
    expect((await ao(['tasks', 'watch', taskId, '--json'])).stdout.trim().split('\n').at(-1)).toContain('"status":"completed"');

    const history = await ao(['leads', 'history', receipt.id]);
    expect(history.stdout.split('\n').filter((l) => /\s{2}change\s/.test(l))).toHaveLength(3);
    const again = await ao(['leads', 'create', '--email', email]);
    expect(again.stdout).toContain('(merged into the existing lead with this email)');
  });

  it('prints the API error code and every issue, and exits 1 on a 4xx', async () => {
    const invalid = await ao(['leads', 'create', '--data', '{"email":"nope","foo":1}', '--stage', 'later']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: invalid_request \(HTTP 400\): the request body is invalid \(3 problems\)/);
    for (const path of ['email', 'stage', 'foo']) expect(invalid.stderr).toMatch(new RegExp(`^  ${path}: .+ \\[\\w+\\]$`, 'm'));
    expect(invalid.stderr).toMatch(/request id: \S+/);

    const missing = await ao(['leads', 'get', 'aaaaaaaaaaaaaaaaaaaa', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { status: 404, code: 'lead_not_found' } });
  });

  it('exits 2 on a usage error, before sending anything, and 3 when the API cannot be reached', async () => {
    for (const argv of [['leads', 'frobnicate'], ['leads', 'get'], ['leads', 'get', 'x', '--email', 'a'], ['leads', 'create'], ['leads', 'create', '--data', '[1]'], ['leads', 'list', '--limit', '0'], ['--nope']]) {
      const result = await ao(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: /);
    }
    const port = await getFreePort();
    const down = await ao(['leads', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('ECONNREFUSED');
    expect((await ao(['--help'])).stdout).toContain('ao leads import FILE');
  });

  it('lists leads as rows, or JSON', async () => {
    const email = uniqueEmail('cli-list');
    await ao(['leads', 'create', '--email', email]);
    let listed: Result | undefined;
    for (let i = 0; i < 100 && !listed?.stdout.includes(email); i++) {
      listed = await ao(['leads', 'list', '--email', email]);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed!.stdout).toMatch(new RegExp(`^[a-z2-7]{20}  ${email.replace(/\./g, '\\.')}\\s+new\\s`));
    const all = await ao(['leads', 'list', '--email', email, '--all', '--json']);
    expect(all.stdout.trim().split('\n').map((l) => JSON.parse(l).email)).toEqual([email]);
  });
});

describe('ao automations and runs', () => {
  it('lists automations, starts, reads, lists and cancels a run', async () => {
    expect((await ao(['automations', 'list'])).stdout).toMatch(/^welcome-nurture\s+enabled /m);
    const lead = JSON.parse((await ao(['leads', 'create', '--email', uniqueEmail('cli-run'), '--json'])).stdout) as { id: string; task_id: string };
    await ao(['tasks', 'watch', lead.task_id]);
    const started = await ao(['runs', 'start', lead.id, 'welcome-nurture', '--idempotency-key', `cli-${lead.id}`]);
    expect(started.code, started.stderr).toBe(0);
    const runId = /^started: run (\S+) \(automation welcome-nurture, lead [a-z2-7]{20}\)$/m.exec(started.stdout)![1]!;
    expect((await ao(['runs', 'start', lead.id, 'welcome-nurture', '--idempotency-key', `cli-${lead.id}`])).stdout).toContain(`already started: run ${runId}`);
    expect(JSON.parse((await ao(['runs', 'get', runId, '--json'])).stdout)).toMatchObject({ run_id: runId, lead_id: lead.id });
    let runs = '';
    for (let i = 0; i < 100 && !runs.includes(runId); i++) {
      runs = (await ao(['runs', 'list', lead.id])).stdout;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs).toMatch(new RegExp(`^${runId}  \\w+$`, 'm'));
    expect((await ao(['runs', 'cancel', runId])).stdout).toBe(`cancelling: run ${runId}\n`);
    expect((await ao(['runs', 'start', lead.id, 'no-such-automation'])).code).toBe(1);
  });
});

/** The default transport, recording every batch request's Idempotency-Key. */
function recordingBatches(): { transport: Transport; keys: string[] } {
  const keys: string[] = [];
  const fetchTransport = createFetchTransport();
  const transport: Transport = (request: TransportRequest) => {
    if (request.url.endsWith('/api/leads/batch')) keys.push(request.headers['idempotency-key'] ?? '(none)');
    return fetchTransport(request);
  };
  return { transport, keys };
}

describe('ao leads import', () => {
  it('imports a CSV in chunks, names the rejected lines, and on a re-run sends only what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-import-'));
    const file = join(dir, 'leads.csv');
    const emails = Array.from({ length: 6 }, () => uniqueEmail('import'));
    const rows = emails.map((e, i) => `${e},Lead ${i},"Acme, Inc."`);
    rows.splice(3, 0, 'not-an-email,Bad,X');
    writeFileSync(file, `email,first_name,company\n${rows.join('\n')}\n`);

    const first = recordingBatches();
    const result = await ao(['leads', 'import', file, '--chunk-size', '3'], first.transport);
    expect(result.code, result.stderr).toBe(1);
    expect(first.keys).toHaveLength(3);
    expect(new Set(first.keys).size).toBe(3);
    expect(result.stderr).toMatch(/^imported 3\/7 leads \(42%\) · \d+ leads\/s · ETA \d+s$/m);
    expect(result.stdout).toContain(`${file}: 7 leads in 3 chunks\naccepted 6 (0 merged into existing leads), rejected 1\nfirst rejected:\n  line 5: invalid_lead:`);
    expect(result.stdout).toMatch(/^ {4}email: must be a valid email address \[\w+\]$/m);
    const state = JSON.parse(readFileSync(`${file}.ao-import.json`, 'utf8'));
    expect(Object.keys(state.chunks)).toEqual(['0', '1', '2']);

    // Everything accepted: nothing is sent again.
    const rerun = recordingBatches();
    const second = await ao(['leads', 'import', file, '--chunk-size', '3', '--json'], rerun.transport);
    expect(rerun.keys).toEqual([]);
    expect(JSON.parse(second.stdout)).toMatchObject({ leads: 7, chunks: 3, skipped_chunks: 3, accepted: 6, rejected: 1, rejections: [{ line: 5, position: 3 }] });

    // A run that stopped after chunk 0: the resume sends chunks 1 and 2 under their keys, and the API applies them once.
    delete state.chunks['1'];
    delete state.chunks['2'];
    writeFileSync(`${file}.ao-import.json`, JSON.stringify(state));
    const resume = recordingBatches();
    const third = await ao(['leads', 'import', file, '--chunk-size', '3', '--json'], resume.transport);
    expect(resume.keys).toEqual(first.keys.slice(1));
    expect(JSON.parse(third.stdout)).toMatchObject({ skipped_chunks: 1, accepted: 6, deduplicated: 0, rejected: 1 });
  });

  it('imports JSON Lines, counts a chunk with no valid lead as rejected, and refuses a malformed file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-import-'));
    const file = join(dir, 'leads.jsonl');
    const email = uniqueEmail('import-jsonl');
    writeFileSync(file, `{"email":"${email}","stage":"contacted"}\n{"email":"bad"}\n{"email":"worse"}\n`);
    const result = await ao(['leads', 'import', file, '--chunk-size', '1', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ accepted: 1, rejected: 2, rejections: [{ line: 2 }, { line: 3 }] });

    writeFileSync(join(dir, 'broken.jsonl'), '{"email":"a@example.com"}\n{broken\n');
    const broken = await ao(['leads', 'import', join(dir, 'broken.jsonl')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('broken.jsonl: line 2: not valid JSON');
  });
});

describe('the ao process', () => {
  it('is the package bin, built from src/cli/main.ts, and runs from its sources with the same exit codes', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ ao: 'dist/src/cli/main.js' });
    expect(readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);

    const exec = promisify(execFile);
    const argv = ['--import', './test/support/ts-resolve.mjs', 'src/cli/main.ts'];
    const env = { ...process.env, AO_URL: api.baseUrl };
    const { stdout } = await exec(process.execPath, [...argv, 'automations', 'list', '--json'], { cwd: ROOT, env });
    expect(JSON.parse(stdout).map((a: { id: string }) => a.id)).toContain('welcome-nurture');
    const failed = await exec(process.execPath, [...argv, 'leads', 'get', 'aaaaaaaaaaaaaaaaaaaa'], { cwd: ROOT, env }).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('error: lead_not_found (HTTP 404)') });
  });
});
