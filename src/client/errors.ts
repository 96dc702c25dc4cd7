/** One problem with a request, as the API lists them: `path` names the field (`email`, `leads.3.email`, `query.limit`). */
export interface ApiIssue {
  path: string;
  code: string;
  message: string;
}

/** The API answered, and not with a 2xx. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  /** The API's error code (`lead_not_found`, `invalid_request`, …); `http_<status>` when the body is not the API's error shape. */
  readonly code: string;
  readonly issues: ApiIssue[];
  readonly requestId: string | undefined;
  /** Seconds the API asked to wait (Retry-After), when it said. */
  readonly retryAfter: number | undefined;
  /** The body as received (parsed JSON, or text). */
  readonly body: unknown;

  constructor(status: number, body: unknown, retryAfter: number | undefined) {
    const error = errorPayload(body);
    super(error?.message ?? `HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`);
    this.status = status;
    this.code = error?.code ?? `http_${status}`;
    this.issues = error?.issues ?? [];
    this.requestId = error?.request_id;
    this.retryAfter = retryAfter;
    this.body = body;
  }
}

/** No HTTP answer: the connection was refused or reset, or the request timed out. */
export class TransportError extends Error {
  override name = 'TransportError';
  /** The socket error's code (ECONNREFUSED, ECONNRESET, ETIMEOUT, …), or the error's name when it has none (TimeoutError). */
  readonly code: string;
  readonly method: string;
  readonly url: string;

  constructor(code: string, message: string, method: string, url: string) {
    super(`${method} ${url}: ${code} ${message}`);
    this.code = code;
    this.method = method;
    this.url = url;
  }
}

/** tasks.watch gave up: the task had not ended within the timeout. */
export class WatchTimeoutError extends Error {
  override name = 'WatchTimeoutError';
  readonly taskId: string;
  readonly lastStatus: string;

  constructor(taskId: string, timeoutMs: number, lastStatus: string) {
    super(`task ${taskId} is still ${lastStatus} after ${Math.round(timeoutMs / 1000)} s`);
    this.taskId = taskId;
    this.lastStatus = lastStatus;
  }
}

interface ErrorPayload {
  code: string;
  message: string;
  issues: ApiIssue[];
  request_id?: string;
}

/** The contract's `{"error": {...}}`, or undefined for any other body (a proxy's HTML page, an empty 502). */
function errorPayload(body: unknown): ErrorPayload | undefined {
  const error = (body as { error?: Partial<ErrorPayload> } | null | undefined)?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string') return undefined;
  return {
    code: error.code,
    message: error.message,
    issues: Array.isArray(error.issues) ? error.issues : [],
    ...(typeof error.request_id === 'string' ? { request_id: error.request_id } : {}),
  };
}
