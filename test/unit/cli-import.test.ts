import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/client/index.js';
import { detectDelimiter, detectFormat, ImportFileError, parseCsvRows, parseLeads } from '../../src/cli/import/parse.js';
import { chunkKey, fileHash, planChunks, resultOf202, resultOf400 } from '../../src/cli/import/plan.js';
import { createProgress, progressLine } from '../../src/cli/import/progress.js';
import { loadState, saveState, statePath } from '../../src/cli/import/state.js';

// The pure parts of `ao leads import`: reading CSV and JSON Lines, cutting chunks and
// deriving their keys, turning answers into results, the state file, the progress line.

describe('CSV', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF, and records the line each row starts on', () => {
    const rows = parseCsvRows('a,b\r\n"x, y","say ""hi"""\r\n"multi\nline",z\n\n1,2');
    expect(rows).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x, y', 'say "hi"'] },
      { line: 3, cells: ['multi\nline', 'z'] },
      { line: 6, cells: ['1', '2'] },
    ]);
    expect(() => parseCsvRows('a\n"open')).toThrow(ImportFileError);
  });

  it('reads what spreadsheets save: a BOM, CRLF with a quoted CRLF inside a cell, `;` or tab separators', () => {
    expect(parseCsvRows('\uFEFFemail;company\r\nada@example.com;"Acme;\r\nLabs"\r\n\r\nbob@example.com;Beta\r\n')).toEqual([
      { line: 1, cells: ['email', 'company'] },
      { line: 2, cells: ['ada@example.com', 'Acme;\r\nLabs'] },
      { line: 5, cells: ['bob@example.com', 'Beta'] },
    ]);
    expect(parseCsvRows('email\tFirst Name\nada@example.com\tAda, Countess\n')).toEqual([
      { line: 1, cells: ['email', 'First Name'] },
      { line: 2, cells: ['ada@example.com', 'Ada, Countess'] },
    ]);
    // A `;` inside a quoted header name does not count; a tie keeps the comma.
    expect(detectDelimiter('"a;b;c",d\n')).toBe(',');
    expect(detectDelimiter('email\n')).toBe(',');
    expect(detectDelimiter('a;b,c\n')).toBe(',');
  });

  it('names the line a bad row starts on, after quoted line breaks and non-ASCII text', () => {
    expect(() => parseLeads('email,note\nada@example.com,"Zoë\nsays hi"\nbob@example.com,"open\n', 'csv')).toThrow(/^line 4: a quoted field is not closed$/);
    expect(() => parseLeads('email;note\r\nada@example.com;"Zoë\r\nsays hi"\r\nbob@example.com;x;extra\r\n', 'csv')).toThrow(
      /^line 4: 3 cells, but the header names 2 columns$/,
    );
  });

  it('maps the header to lead fields: names normalized, tags split, custom.* kept, booleans read, empty cells left out', () => {
    const csv = '\uFEFFEmail,First Name,last-name,tags,custom.Plan,unsubscribed,company\nada@example.com,Ada,Lovelace,vip; beta,Pro,yes,\nbob@example.com,,,,,0,Acme\n';
    expect(parseLeads(csv, 'csv')).toEqual([
      { line: 2, lead: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', tags: ['vip', 'beta'], custom: { Plan: 'Pro' }, unsubscribed: true } },
      { line: 3, lead: { email: 'bob@example.com', unsubscribed: false, company: 'Acme' } },
    ]);
  });

  it('refuses a row with more values than columns, and a header naming a column twice', () => {
    expect(() => parseLeads('email\na@example.com,extra\n', 'csv')).toThrow(/line 2: 2 cells, but the header names 1 columns/);
    expect(parseLeads('email,company\na@example.com,\n', 'csv')).toHaveLength(1);
    expect(() => parseLeads('email,Email\n', 'csv')).toThrow(/column email appears twice/);
  });
});

describe('JSON Lines', () => {
  it('reads one object per line, skipping blank lines, and names the line of a bad one', () => {
    expect(parseLeads('{"email":"a@example.com"}\n\n{"email":"b@example.com","tags":["x"]}\n', 'jsonl')).toEqual([
      { line: 1, lead: { email: 'a@example.com' } },
      { line: 3, lead: { email: 'b@example.com', tags: ['x'] } },
    ]);
    expect(() => parseLeads('{"email":"a@example.com"}\n{oops\n', 'jsonl')).toThrow(/^line 2: not valid JSON/);
    expect(() => parseLeads('["a"]\n', 'jsonl')).toThrow(/line 1: expected a JSON object/);
  });

  it('detects the format by extension, else by the first character', () => {
    expect(detectFormat('leads.CSV', '{')).toBe('csv');
    expect(detectFormat('leads.ndjson', 'email')).toBe('jsonl');
    expect(detectFormat('leads.txt', '  {"email":1}')).toBe('jsonl');
    expect(detectFormat('leads.txt', 'email,company')).toBe('csv');
  });
});

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ line: i + 2, lead: { email: `l${i}@example.com` } }));

describe('chunks and their keys', () => {
  it('cuts the records into chunks of the given size, keyed by content hash, size and index', () => {
    const hash = fileHash(Buffer.from('email\n'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const chunks = planChunks(records(1203), hash, 500);
    expect(chunks.map((c) => c.records.length)).toEqual([500, 500, 203]);
    expect(chunks[2]!.records[0]!.line).toBe(1002);
    expect(chunks.map((c) => c.idempotencyKey)).toEqual([0, 1, 2].map((i) => `ao-import-${hash}-500-${i}`));
    // Same content and size: the same keys on a re-run; any change of either: new keys.
    expect(planChunks(records(1203), hash, 500)[1]!.idempotencyKey).toBe(chunks[1]!.idempotencyKey);
    expect(chunkKey(hash, 400, 1)).not.toBe(chunks[1]!.idempotencyKey);
    expect(chunkKey(fileHash(Buffer.from('email\n ')), 500, 1)).not.toBe(chunks[1]!.idempotencyKey);
    expect(chunks[0]!.idempotencyKey.length).toBeLessThanOrEqual(255);
  });

  it('turns a 202 into counts and the rejected items, pointing at their lines', () => {
    const [, second] = planChunks(records(6), 'h', 3);
    const invalid = { code: 'invalid_lead' as const, message: 'the lead is invalid', issues: [{ path: 'email', code: 'invalid_format', message: 'must be a valid email address' }] };
    const result = resultOf202(second!, 3, {
      accepted: 2,
      rejected: 1,
      items: [
        { index: 0, id: 'a', task_id: 'a.t', status: 'queued', deduplicated: true },
        { index: 1, error: invalid },
        { index: 2, id: 'b', task_id: 'b.t', status: 'queued', deduplicated: false },
      ],
    });
    expect(result).toEqual({ accepted: 2, deduplicated: 1, rejected: 1, rejections: [{ line: 6, position: 4, ...invalid }] });
  });

  it('turns a 400 whose issues all name items into a chunk rejected as a whole; any other 400 stays an error', () => {
    const [chunk] = planChunks(records(3), 'h', 3);
    const body = (issues: unknown[]) => ({ error: { code: 'invalid_request', message: 'invalid', issues } });
    const itemIssues = [
      { path: 'leads.0.email', code: 'invalid_format', message: 'bad email' },
      { path: 'leads.2.stage', code: 'invalid_value', message: 'bad stage' },
      { path: 'leads.2.email', code: 'invalid_format', message: 'bad email' },
    ];
    const whole = resultOf400(chunk!, 3, new ApiError(400, body(itemIssues), undefined));
    expect(whole).toMatchObject({ accepted: 0, rejected: 3 });
    expect(whole!.rejections).toEqual([
      { line: 2, position: 0, code: 'invalid_lead', message: 'the lead is invalid', issues: [{ path: 'email', code: 'invalid_format', message: 'bad email' }] },
      {
        line: 4,
        position: 2,
        code: 'invalid_lead',
        message: 'the lead is invalid',
        issues: [
          { path: 'stage', code: 'invalid_value', message: 'bad stage' },
          { path: 'email', code: 'invalid_format', message: 'bad email' },
        ],
      },
    ]);
    expect(resultOf400(chunk!, 3, new ApiError(400, body([{ path: 'leads', code: 'too_big', message: 'x' }]), undefined))).toBeUndefined();
    expect(resultOf400(chunk!, 3, new ApiError(422, body(itemIssues), undefined))).toBeUndefined();
  });
});

describe('state file', () => {
  it('is found again for the same content and chunk size, and is stale for another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ao-import-state-'));
    const path = statePath(join(dir, 'leads.csv'));
    expect(path).toBe(join(dir, 'leads.csv.ao-import.json'));
    expect(await loadState(path, 'h1', 500, 10)).toEqual({ state: { file_sha256: 'h1', chunk_size: 500, total: 10, chunks: {} }, stale: false });
    const state = { file_sha256: 'h1', chunk_size: 500, total: 10, chunks: { 0: { accepted: 10, deduplicated: 0, rejected: 0, rejections: [] } } };
    await saveState(path, state);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(state);
    expect(await loadState(path, 'h1', 500, 10)).toEqual({ state, stale: false });
    expect((await loadState(path, 'h2', 500, 10)).stale).toBe(true);
    expect((await loadState(path, 'h1', 250, 10)).state.chunks).toEqual({});
    writeFileSync(path, 'not json');
    expect((await loadState(path, 'h1', 500, 10)).stale).toBe(true);
  });
});

describe('progress', () => {
  it('shows done, share, rate and ETA, as a bar on a terminal and as a plain line elsewhere', () => {
    expect(progressLine(1000, 4000, 1000, 2000, false)).toBe('imported 1000/4000 leads (25%) · 500 leads/s · ETA 6s');
    expect(progressLine(2000, 4000, 500, 1000, true)).toBe('[############............] 2000/4000 leads (50%) · 500 leads/s · ETA 4s');
    expect(progressLine(4000, 4000, 4000, 2000, false)).toBe('imported 4000/4000 leads (100%) · 2000 leads/s');
    expect(progressLine(0, 100_000, 100, 1000, false)).toContain('ETA 16m40s');
  });

  it('redraws one line on a TTY and writes one line per update otherwise', () => {
    let clock = 0;
    const written: string[] = [];
    const plain = createProgress({ write: (t: string) => written.push(t) }, 10, () => clock);
    clock = 1000;
    plain.update(5, 5);
    plain.finish();
    expect(written).toEqual(['imported 5/10 leads (50%) · 5 leads/s · ETA 1s\n']);

    written.length = 0;
    const tty = createProgress({ write: (t: string) => written.push(t), isTTY: true }, 10, () => clock);
    tty.update(10, 10);
    tty.finish();
    expect(written[0]).toMatch(/^\r\[#+\] 10\/10 leads \(100%\).*\x1b\[K$/);
    expect(written[1]).toBe('\n');
  });
});
