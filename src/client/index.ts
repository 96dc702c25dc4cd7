// The typed client of the lead API: `createClient({ baseUrl })`.
export { createClient, type Client, type ClientOptions, type WriteOptions } from './client.js';
export { ApiError, TransportError, WatchTimeoutError, type ApiIssue } from './errors.js';
export { DEFAULT_RETRY, type RetryOptions } from './retry.js';
export { createFetchTransport, type HttpMethod, type Transport, type TransportOutcome, type TransportRequest } from './transport.js';
export type { WatchOptions } from './watch.js';
export type { TaskEventsOptions, TaskStreamEvent } from './events.js';
export type * from './types.js';
