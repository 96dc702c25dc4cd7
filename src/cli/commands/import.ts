import { readFile } from 'node:fs/promises';
import { ApiError, type Client, type LeadInput } from '../../client/index.js';
import { intOption } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import type { Command, CommandContext } from '../io.js';
import { detectFormat, ImportFileError, parseLeads, type ImportFormat, type SourceRecord } from '../import/parse.js';
import { fileHash, MAX_CHUNK, planChunks, resultOf202, resultOf400, type Chunk, type ChunkResult } from '../import/plan.js';
import { createProgress } from '../import/progress.js';
import { loadState, saveState, statePath, type ImportState } from '../import/state.js';

const USAGE = 'ao leads import FILE [--chunk-size N] [--format csv|jsonl]';

export const importCommand: Command = {
  name: 'leads import',
  usage: USAGE,
  summary: 'import a CSV (header row) or JSON Lines file in batches of up to 500; run again to resume',
  args: ['FILE'],
  options: ['chunk-size', 'format'],
  run: runImport,
};

async function runImport(ctx: CommandContext): Promise<number> {
  const path = ctx.args[0]!;
  const chunkSize = intOption(ctx.values['chunk-size'], 'chunk-size', 1, MAX_CHUNK) ?? MAX_CHUNK;
  const { content, records } = await readLeads(path, ctx.values.format);
  const hash = fileHash(content);
  const chunks = planChunks(records, hash, chunkSize);
  const stateFile = statePath(path);
  const { state, stale } = await loadState(stateFile, hash, chunkSize, records.length);
  if (stale) ctx.out.note(`${stateFile} is from another version of the file (or chunk size): starting over`);
  const earlier = chunks.filter((c) => state.chunks[c.index]);
  let done = earlier.reduce((n, c) => n + c.records.length, 0);
  let sent = 0;
  const progress = createProgress(ctx.io.stderr, records.length);
  try {
    for (const chunk of chunks) {
      if (state.chunks[chunk.index]) continue;
      state.chunks[chunk.index] = await sendChunk(ctx.client, chunk, chunkSize);
      await saveState(stateFile, state);
      done += chunk.records.length;
      sent += chunk.records.length;
      progress.update(done, sent);
    }
  } catch (err) {
    progress.finish();
    const accepted = Object.keys(state.chunks).length;
    ctx.out.note(`stopped with ${accepted} of ${chunks.length} chunks accepted (${stateFile}): run the same command again to resume`);
    throw err;
  }
  progress.finish();
  return summarize(ctx, { path, stateFile, state, chunks: chunks.length, skipped: earlier.length });
}

async function readLeads(path: string, formatOption: string | undefined): Promise<{ content: Buffer; records: SourceRecord[] }> {
  if (formatOption !== undefined && formatOption !== 'csv' && formatOption !== 'jsonl') throw new UsageError('--format must be csv or jsonl', USAGE);
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, USAGE);
  }
  const text = content.toString('utf8');
  try {
    const records = parseLeads(text, (formatOption as ImportFormat | undefined) ?? detectFormat(path, text));
    if (records.length === 0) throw new ImportFileError('no leads in the file');
    return { content, records };
  } catch (err) {
    if (err instanceof ImportFileError) throw new UsageError(`${path}: ${err.message}`, USAGE);
    throw err;
  }
}

/** One chunk under its derived key; a chunk in which no lead is valid is done too (sending it again cannot help). */
async function sendChunk(client: Client, chunk: Chunk, chunkSize: number): Promise<ChunkResult> {
  const leads = chunk.records.map((r) => r.lead as LeadInput);
  try {
    return resultOf202(chunk, chunkSize, await client.leads.importBatch(leads, { idempotencyKey: chunk.idempotencyKey }));
  } catch (err) {
    const whole = err instanceof ApiError ? resultOf400(chunk, chunkSize, err) : undefined;
    if (whole) return whole;
    throw err;
  }
}

interface Summary {
  path: string;
  stateFile: string;
  state: ImportState;
  chunks: number;
  skipped: number;
}

/** Exit 1 when any lead was rejected: the file needs fixing (then run again: accepted chunks are skipped). */
function summarize(ctx: CommandContext, s: Summary): number {
  const results = Object.values(s.state.chunks);
  const sum = (pick: (r: ChunkResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const accepted = sum((r) => r.accepted);
  const rejected = sum((r) => r.rejected);
  const rejections = results.flatMap((r) => r.rejections).sort((a, b) => a.position - b.position);
  const report = {
    file: s.path,
    state_file: s.stateFile,
    leads: s.state.total,
    chunks: s.chunks,
    skipped_chunks: s.skipped,
    accepted,
    deduplicated: sum((r) => r.deduplicated),
    rejected,
    rejections: rejections.slice(0, 20),
  };
  ctx.out.result(report, () => {
    const earlier = s.skipped > 0 ? ` (${s.skipped} accepted by an earlier run)` : '';
    const lines = [
      `${s.path}: ${s.state.total} leads in ${s.chunks} chunks${earlier}`,
      `accepted ${accepted} (${report.deduplicated} merged into existing leads), rejected ${rejected}`,
    ];
    if (rejections.length > 0) lines.push(`first rejected:`);
    for (const r of rejections.slice(0, 5)) {
      lines.push(`  line ${r.line}: ${r.code}: ${r.message}`);
      for (const issue of r.issues) lines.push(`    ${issue.path}: ${issue.message} [${issue.code}]`);
    }
    return lines.join('\n');
  });
  return rejected > 0 ? EXIT.refused : EXIT.ok;
}
