import { ApiError, TransportError, WatchTimeoutError } from '../client/index.js';

/** 0 done; 1 the API said no (a 4xx, rejected leads, a task that failed); 2 bad command line or input file; 3 the API could not be reached or could not answer (5xx, 429, network), after retries. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

/** The command line (or the file it names) is wrong; nothing was sent. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429 ? EXIT.unavailable : EXIT.refused;
  if (err instanceof TransportError || err instanceof WatchTimeoutError) return EXIT.unavailable;
  return EXIT.refused;
}

/** What stderr says: the API's code and every issue, so the fix is obvious without --json. */
export function describeError(err: unknown, json: boolean): string {
  if (err instanceof ApiError) {
    if (json) return JSON.stringify({ error: { status: err.status, code: err.code, message: err.message, issues: err.issues, request_id: err.requestId } });
    const lines = [`error: ${err.code} (HTTP ${err.status}): ${err.message}`];
    for (const issue of err.issues) lines.push(`  ${issue.path}: ${issue.message} [${issue.code}]`);
    if (err.retryAfter !== undefined) lines.push(`  the API asked to retry after ${err.retryAfter} s`);
    if (err.requestId) lines.push(`  request id: ${err.requestId}`);
    return lines.join('\n');
  }
  const code = err instanceof TransportError ? err.code : err instanceof UsageError ? 'usage' : (err as Error).name;
  if (json) return JSON.stringify({ error: { code, message: (err as Error).message } });
  if (err instanceof TransportError) return `error: no answer from the API: ${err.message}`;
  if (err instanceof UsageError) return [`error: ${err.message}`, ...(err.usage ? [`usage: ${err.usage}`] : []), "run 'ao --help' for every command"].join('\n');
  return `error: ${(err as Error).message ?? String(err)}`;
}
