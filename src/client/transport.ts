// The one seam between the client and the network. A transport sends one request and
// reports what happened, never throwing: a status with headers and body, or the socket
// error. The client decides what is an error and what to retry.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TransportRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  /** A JSON value; the transport serializes it. */
  body?: unknown;
  timeoutMs: number;
}

export type TransportOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: unknown }
  | { kind: 'error'; code: string; message: string };

export type Transport = (request: TransportRequest) => Promise<TransportOutcome>;

/** The default transport: the platform's fetch (or the one given). */
export function createFetchTransport(fetchImpl: typeof fetch = fetch): Transport {
  return async (request) => {
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetchImpl(request.url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      const text = await res.text();
      return { kind: 'response', status: res.status, headers: Object.fromEntries(res.headers), body: parseBody(text) };
    } catch (err) {
      // fetch hides the socket error in `cause` (ECONNREFUSED, UND_ERR_SOCKET); a timeout has only a name.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const code = typeof cause?.code === 'string' ? cause.code : (err as Error).name;
      const message = typeof cause?.message === 'string' ? cause.message : (err as Error).message;
      return { kind: 'error', code, message };
    }
  };
}

/** JSON when it parses, else the text; undefined for an empty body. */
export function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
