// The page's calls to the /api routes beside it, with the API key the visitor entered (kept in
// this tab's sessionStorage only), and the errors they end in.

const KEY = 'ao-console-api-key';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: string | null,
  ) {
    super(message);
  }
}

// sessionStorage throws when storage is disabled: the page then asks for the key again.
export function storedKey(): string {
  try {
    return sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

export function storeKey(key: string): void {
  try {
    sessionStorage.setItem(KEY, key);
  } catch {
    /* private mode: asked again next time */
  }
}

export function forgetKey(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}

/** The answer's JSON body; any other status than 2xx throws an ApiError built from the API's error body. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = storedKey();
  if (key) headers.authorization = 'Bearer ' + key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'the API did not answer (' + (e instanceof Error ? e.message : String(e)) + ')');
  }
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return data as T;
  const err = (data as { error?: { code?: string; message?: string } } | null)?.error ?? {};
  throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || 'HTTP ' + res.status, res.headers.get('retry-after'));
}

/** One line for the page's status or notice. */
export function explain(e: unknown): string {
  if (!(e instanceof ApiError)) return String(e);
  return e.code + ': ' + e.message + (e.retryAfter ? ' (try again in ' + e.retryAfter + ' s)' : '');
}
