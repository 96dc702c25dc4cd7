import { randomUUID } from 'node:crypto';
import { createRequester } from './request.js';
import { retryPolicy, type RetryOptions } from './retry.js';
import { watchTask, type WatchOptions } from './watch.js';
import { taskEvents, type TaskEventsOptions } from './events.js';
import { createFetchTransport, type HttpMethod, type Transport } from './transport.js';
import type {
  Automation,
  BatchAccepted,
  ConsentAccepted,
  CreateAccepted,
  ErasureAccepted,
  FailedLeadPage,
  FailedLeadsQuery,
  Lead,
  LeadExport,
  LeadRetryAccepted,
  LeadHistory,
  LeadInput,
  LeadListItem,
  LeadPage,
  LeadPatch,
  Stats,
  ListLeadsQuery,
  PageOptions,
  ProblemRunPage,
  RedriveAccepted,
  RedriveFilter,
  RedriveJob,
  Run,
  RunCancelling,
  RunPage,
  RunRetried,
  RunStarted,
  Task,
  WriteAccepted,
} from './types.js';

export interface ClientOptions {
  /** The API's origin, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string | undefined;
  /** The fetch the default transport uses (the platform's by default). */
  fetch?: typeof fetch;
  /** Replaces fetch altogether (the chaos harness passes a node:http transport). */
  transport?: Transport;
  /** Default 4 attempts within 30 s, on 429, 503 and, for repeatable requests, socket errors; `false`: one attempt. */
  retry?: RetryOptions | false;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
}

export interface WriteOptions {
  /**
   * The write's Idempotency-Key, sent on every retry of it. Default: a fresh UUID per call.
   * `false` sends none; the write is then not retried after an unknown outcome.
   */
  idempotencyKey?: string | false;
}

export type Client = ReturnType<typeof createClient>;

export function createClient(options: ClientOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const policy = retryPolicy(options.retry);
  const request = createRequester({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    transport: options.transport ?? createFetchTransport(options.fetch),
    retry: policy,
    timeoutMs,
  });
  const read = <T>(path: string, query?: Record<string, string | number | undefined>) =>
    request<T>({ method: 'GET', path, query, repeatable: true });
  const write = <T>(method: HttpMethod, path: string, body: unknown, opts: WriteOptions = {}, attemptTimeoutMs?: number) => {
    const key = opts.idempotencyKey === false ? undefined : (opts.idempotencyKey ?? randomUUID());
    return request<T>({ method, path, body, idempotencyKey: key, repeatable: key !== undefined, timeoutMs: attemptTimeoutMs });
  };
  const tasks = {
    get: (taskId: string) => read<Task>(`/api/tasks/${seg(taskId)}`),
    /** Polls the task, yielding it whenever it changed, until it ends (completed, failed, cancelled). */
    watch: (taskId: string, opts?: WatchOptions) => watchTask(tasks.get, taskId, opts),
    /**
     * The task's changes as the API pushes them (Server-Sent Events), until its `end`; a
     * dropped stream is resumed with Last-Event-ID. Always over fetch, whatever the transport.
     */
    events: (taskId: string, opts?: TaskEventsOptions) =>
      taskEvents(
        {
          url: `${baseUrl}/api/tasks/${seg(taskId)}/events`,
          headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
          fetch: options.fetch ?? fetch,
          retry: policy,
          timeoutMs,
        },
        opts,
      ),
  };
  return {
    leads: leadMethods(read, write, request, timeoutMs),
    tasks,
    automations: {
      list: () => read<{ items: Automation[] }>('/api/automations'),
      get: (automationId: string) => read<Automation>(`/api/automations/${seg(automationId)}`),
      startRun: (leadId: string, automationId: string, opts?: WriteOptions) =>
        write<RunStarted>('POST', `/api/leads/${seg(leadId)}/automations/${seg(automationId)}/runs`, undefined, opts),
    },
    runs: {
      get: (runId: string) => read<Run>(`/api/automation-runs/${seg(runId)}`),
      // Cancelling twice is harmless, so it may be retried without a key.
      cancel: (runId: string) => request<RunCancelling>({ method: 'POST', path: `/api/automation-runs/${seg(runId)}/cancel`, repeatable: true }),
      forLead: (leadId: string, page: PageOptions = {}) => read<RunPage>(`/api/leads/${seg(leadId)}/automation-runs`, { ...page }),
      /** Failed runs, or running runs stuck retrying an activity. */
      problems: (query: PageOptions & { status?: 'failed' | 'stuck' } = {}) => read<ProblemRunPage>('/api/automation-runs/failed', { ...query }),
      /** A fresh run with the failed or cancelled run's input; the key makes a repeat find the same run. */
      retry: (runId: string, opts?: WriteOptions) => write<RunRetried>('POST', `/api/automation-runs/${seg(runId)}/retry`, undefined, opts),
    },
    /** Backlog per task queue, leads retrying and failed, the last minute's new leads (GET /api/stats). */
    stats: () => read<Stats>('/api/stats'),
  };
}

type Requester = ReturnType<typeof createRequester>;
type Read = <T>(path: string, query?: Record<string, string | number | undefined>) => Promise<T>;
type Write = <T>(method: HttpMethod, path: string, body: unknown, opts?: WriteOptions, attemptTimeoutMs?: number) => Promise<T>;

// The API gives a batch up to 45 s (500 workflow starts); an attempt must outwait that.
const BATCH_ATTEMPT_TIMEOUT_MS = 60_000;

function leadMethods(read: Read, write: Write, request: Requester, timeoutMs: number) {
  const list = (query: ListLeadsQuery = {}) => read<LeadPage>('/api/leads', { ...query });
  return {
    create: (lead: LeadInput, opts?: WriteOptions) => write<CreateAccepted>('POST', '/api/leads', lead, opts),
    get: (leadId: string) => read<Lead>(`/api/leads/${seg(leadId)}`),
    replace: (leadId: string, lead: LeadInput, opts?: WriteOptions) => write<WriteAccepted>('PUT', `/api/leads/${seg(leadId)}`, lead, opts),
    patch: (leadId: string, patch: LeadPatch, opts?: WriteOptions) => write<WriteAccepted>('PATCH', `/api/leads/${seg(leadId)}`, patch, opts),
    list,
    /** Every lead matching the filters, page after page (following next_cursor). */
    listAll: async function* (query: ListLeadsQuery = {}): AsyncGenerator<LeadListItem> {
      let cursor = query.cursor;
      do {
        const page = await list({ ...query, cursor });
        yield* page.items;
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    },
    history: (leadId: string) => read<LeadHistory>(`/api/leads/${seg(leadId)}/history`),
    /** Erases the lead everywhere; follow the answer's task. Repeating it answers the same task. */
    erase: (leadId: string) => request<ErasureAccepted>({ method: 'DELETE', path: `/api/leads/${seg(leadId)}`, repeatable: true }),
    /** Everything the service holds about the lead (GDPR Art. 15). */
    export: (leadId: string) => read<LeadExport>(`/api/leads/${seg(leadId)}/export`),
    /** The address's consent: `subscribed: false` opts out, `true` resubscribes; `source` says where it was given. */
    consent: (leadId: string, consent: { subscribed: boolean; source: string }) =>
      request<ConsentAccepted>({ method: 'POST', path: `/api/leads/${seg(leadId)}/consent`, body: consent, repeatable: true }),
    /** Leads whose CRM sync failed: waiting for their repair, or retrying now. */
    failed: (query: FailedLeadsQuery = {}) => read<FailedLeadPage>('/api/leads/failed', { ...query }),
    /** Re-drives one lead now. Not repeated on an unknown outcome: a repeat could only answer 409. */
    retry: (leadId: string) => write<LeadRetryAccepted>('POST', `/api/leads/${seg(leadId)}/retry`, undefined, { idempotencyKey: false }),
    /** Re-drives every failed lead the filter matches (one batch operation per Idempotency-Key). */
    retryAll: (filter: RedriveFilter = {}, opts?: WriteOptions) => write<RedriveAccepted>('POST', '/api/leads/retry', { filter }, opts),
    redriveJob: (jobId: string) => read<RedriveJob>(`/api/redrive-jobs/${seg(jobId)}`),
    /** Up to 500 leads in one request; idempotent as a whole under one key. */
    importBatch: (leads: LeadInput[], opts?: WriteOptions) =>
      write<BatchAccepted>('POST', '/api/leads/batch', { leads }, opts, Math.max(timeoutMs, BATCH_ATTEMPT_TIMEOUT_MS)),
  };
}

const seg = encodeURIComponent;
