/** Where progress goes: stderr, so stdout stays the command's result. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

export interface Progress {
  /** `done` leads of `total`, `sent` of them by this run (the rate counts only those). */
  update(done: number, sent: number): void;
  finish(): void;
}

/** A redrawn bar on a terminal; otherwise one plain line per update. */
export function createProgress(stream: ProgressStream, total: number, now: () => number = Date.now): Progress {
  const startedAt = now();
  let drawn = false;
  return {
    update(done, sent) {
      const line = progressLine(done, total, sent, now() - startedAt, stream.isTTY === true);
      if (stream.isTTY) {
        stream.write(`\r${line}\x1b[K`);
        drawn = true;
      } else stream.write(`${line}\n`);
    },
    finish() {
      if (drawn) stream.write('\n');
    },
  };
}

export function progressLine(done: number, total: number, sent: number, elapsedMs: number, bar: boolean): string {
  const share = total === 0 ? 1 : done / total;
  const rate = elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0;
  const eta = rate > 0 && done < total ? ` · ETA ${duration((total - done) / rate)}` : '';
  const width = 24;
  const filled = Math.round(share * width);
  const head = bar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : 'imported ';
  return `${head}${done}/${total} leads (${Math.floor(share * 100)}%) · ${rate.toFixed(0)} leads/s${eta}`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
