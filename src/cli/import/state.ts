import { readFile, rename, writeFile } from 'node:fs/promises';
import type { ChunkResult } from './plan.js';

/**
 * `FILE.ao-import.json`, next to the input: which chunks the API accepted, so a re-run
 * sends only the others. It belongs to one content hash and chunk size; another file
 * content (or size) starts over.
 */
export interface ImportState {
  file_sha256: string;
  chunk_size: number;
  total: number;
  chunks: Record<string, ChunkResult>;
}

export const statePath = (inputPath: string) => `${inputPath}.ao-import.json`;

/** The state of an earlier run of this same content and chunk size; `stale` when one exists for other content. */
export async function loadState(path: string, hash: string, chunkSize: number, total: number): Promise<{ state: ImportState; stale: boolean }> {
  const fresh: ImportState = { file_sha256: hash, chunk_size: chunkSize, total, chunks: {} };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { state: fresh, stale: false };
  }
  try {
    const saved = JSON.parse(text) as ImportState;
    if (saved.file_sha256 === hash && saved.chunk_size === chunkSize && saved.chunks && typeof saved.chunks === 'object') {
      return { state: saved, stale: false };
    }
  } catch {
    // unreadable: as good as absent
  }
  return { state: fresh, stale: true };
}

/** Written to a temporary file and renamed: an interrupted run never leaves half a state file. */
export async function saveState(path: string, state: ImportState): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, path);
}
