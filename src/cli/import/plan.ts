import { createHash } from 'node:crypto';
import type { ApiError, ApiIssue, BatchAccepted } from '../../client/index.js';
import type { SourceRecord } from './parse.js';

// How an import is cut into batch requests, and what is remembered between runs. A chunk's
// Idempotency-Key derives from the file's content, the chunk size and the chunk's index:
// a re-run sends the same chunk under the same key, so the API applies it once, and a
// changed file or chunk size gets new keys (never a 422 for "same key, other body").

export const MAX_CHUNK = 500;

export interface Chunk {
  index: number;
  records: SourceRecord[];
  idempotencyKey: string;
}

export function fileHash(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

export function chunkKey(hash: string, chunkSize: number, index: number): string {
  return `ao-import-${hash}-${chunkSize}-${index}`;
}

export function planChunks(records: readonly SourceRecord[], hash: string, chunkSize: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let start = 0, index = 0; start < records.length; start += chunkSize, index++) {
    chunks.push({ index, records: records.slice(start, start + chunkSize), idempotencyKey: chunkKey(hash, chunkSize, index) });
  }
  return chunks;
}

export interface Rejection {
  /** Line of the input file, and position in the whole file (0-based). */
  line: number;
  position: number;
  code: string;
  message: string;
  issues: ApiIssue[];
}

export interface ChunkResult {
  accepted: number;
  deduplicated: number;
  rejected: number;
  /** The first few rejections only: enough to show what is wrong. */
  rejections: Rejection[];
}

const KEPT_REJECTIONS = 20;

/** A 202: the items say which leads were queued and why the others were refused. */
export function resultOf202(chunk: Chunk, chunkSize: number, answer: BatchAccepted): ChunkResult {
  const rejections: Rejection[] = [];
  let deduplicated = 0;
  for (const item of answer.items) {
    if ('error' in item) {
      if (rejections.length < KEPT_REJECTIONS) rejections.push(rejection(chunk, chunkSize, item.index, item.error));
    } else if (item.deduplicated) deduplicated += 1;
  }
  return { accepted: answer.accepted, deduplicated, rejected: answer.rejected, rejections };
}

/**
 * A 400 whose issues all name an item (`leads.3.email`): no lead of the chunk was valid,
 * and sending it again would not change that. Undefined when the request itself was at fault.
 */
export function resultOf400(chunk: Chunk, chunkSize: number, error: ApiError): ChunkResult | undefined {
  if (error.status !== 400 || error.issues.length === 0) return undefined;
  const byItem = new Map<number, ApiIssue[]>();
  for (const issue of error.issues) {
    const match = /^leads\.(\d+)(?:\.(.*))?$/.exec(issue.path);
    if (!match) return undefined;
    const index = Number(match[1]);
    byItem.set(index, [...(byItem.get(index) ?? []), { ...issue, path: match[2] ?? '(lead)' }]);
  }
  const rejections = [...byItem]
    .slice(0, KEPT_REJECTIONS)
    .map(([index, issues]) => rejection(chunk, chunkSize, index, { code: 'invalid_lead', message: 'the lead is invalid', issues }));
  return { accepted: 0, deduplicated: 0, rejected: chunk.records.length, rejections };
}

function rejection(chunk: Chunk, chunkSize: number, index: number, error: { code: string; message: string; issues: ApiIssue[] }): Rejection {
  return { line: chunk.records[index]?.line ?? 0, position: chunk.index * chunkSize + index, ...error };
}
