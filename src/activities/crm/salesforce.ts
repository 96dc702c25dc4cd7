import type { LeadStage } from '../../domain/lead.js';
import { parseRetryAfter, permanentFailure, transientFailure } from '../failures.js';
import type { CrmConnector, CrmRecord, CrmRecordOutcome, CrmRequestGate } from './connector.js';
import { DEFAULT_STATUS_BY_STAGE, toSalesforceLead } from './salesforce-fields.js';
import { safeJson, SalesforceSessions, type SalesforceSession } from './salesforce-session.js';

/**
 * Salesforce as a CRM connector: Leads upserted 200 at a time by our lead id in an external-id
 * field (sObject Collections, allOrNone false, so one bad record does not hold back the
 * others), and erased by a DELETE on that external id (one request; a GET-then-DELETE by
 * Salesforce Id would spend two of the daily allowance).
 *
 * A thin fetch client rather than jsforce: we call three endpoints, and jsforce would bring a
 * large dependency tree, its own retries and session handling that would fight the worker's
 * request gate and Temporal's retry policy.
 *
 * Every API request (not the token call) waits for `gate.acquire()` and reports the org's
 * allowance from `Sforce-Limit-Info` to `gate.observe`. A token Salesforce refuses
 * (401 INVALID_SESSION_ID) is renewed once and the request sent again.
 */

export const SALESFORCE_MAX_BATCH = 200;
/**
 * The daily allowance is a rolling 24 hours, and Salesforce says neither when it will have room
 * again nor how much: after REQUEST_LIMIT_EXCEEDED the gate pauses an hour, then tries again.
 */
export const ALLOWANCE_PAUSE_MS = 3600_000;

export interface SalesforceConnectorOptions {
  /** The login or My Domain URL the token call goes to; API calls use the instance_url it answers. */
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  /** Without the 'v'; 46.0 or later (sObject Collections upsert). */
  apiVersion?: string;
  sobject?: string;
  externalIdField?: string;
  timeoutMs: number;
  gate: CrmRequestGate;
  /** Replaces global fetch: the worker passes a traced one when tracing is on. */
  fetch?: typeof fetch;
  /** Our custom keys -> Salesforce fields (`{ budget: 'Budget__c' }`); others are not sent. */
  fields?: Record<string, string>;
  /** Lead Status per stage, for orgs whose picklist differs from the standard one. */
  statusByStage?: Partial<Record<LeadStage, string>>;
}

/** Per-record codes worth trying again: the row was busy, or the org was. */
const TRANSIENT_CODES = new Set(['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG', 'SERVER_UNAVAILABLE', 'ALL_OR_NONE_OPERATION_ROLLED_BACK']);
/** Another record already holds what this one claims (a duplicate rule, a unique field). */
const CONFLICT_CODES = new Set(['DUPLICATES_DETECTED', 'DUPLICATE_VALUE']);

interface RecordError {
  statusCode?: string;
  message?: string;
  fields?: string[];
}
interface UpsertResult {
  id?: string;
  success?: boolean;
  created?: boolean;
  errors?: RecordError[];
}

export function createSalesforceConnector(options: SalesforceConnectorOptions): CrmConnector {
  const send = options.fetch ?? fetch;
  const apiVersion = `v${(options.apiVersion ?? '62.0').replace(/^v/, '')}`;
  const sobject = options.sobject ?? 'Lead';
  const externalIdField = options.externalIdField ?? 'AO_Lead_Id__c';
  const mapping = {
    sobject,
    externalIdField,
    statusByStage: { ...DEFAULT_STATUS_BY_STAGE, ...options.statusByStage },
    customFields: options.fields ?? {},
  };
  const sessions = new SalesforceSessions({
    instanceUrl: options.instanceUrl.replace(/\/+$/, ''),
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    timeoutMs: options.timeoutMs,
    fetch: send,
  });
  const transport: Transport = { send, apiVersion, timeoutMs: options.timeoutMs, gate: options.gate };

  /** One API request through the gate, sent again once with a new token if Salesforce refused the session. */
  async function api(method: 'PATCH' | 'DELETE', path: string, body: unknown, signal?: AbortSignal) {
    let session = await sessions.get();
    let answer = await sendOnce(transport, session, method, path, body, signal);
    if (answer.response.status === 401 && errorCode(answer.body) === 'INVALID_SESSION_ID') {
      session = await sessions.renew(session);
      answer = await sendOnce(transport, session, method, path, body, signal);
    }
    return answer;
  }

  /**
   * A 400 for the whole request names no record (an unknown field that only some records
   * carry, a value Salesforce cannot parse): the batch is halved until the records that
   * cause it stand alone, so the others still land.
   */
  async function upsertBatch(records: CrmRecord[], signal?: AbortSignal): Promise<CrmRecordOutcome[]> {
    const body = { allOrNone: false, records: records.map((r) => toSalesforceLead(r, mapping)) };
    const { response, body: answer } = await api('PATCH', `/composite/sobjects/${sobject}/${externalIdField}`, body, signal);
    if (response.status === 400) {
      if (records.length === 1) return [{ ok: false, failure: requestFailure(response, answer, options.gate) }];
      const half = Math.ceil(records.length / 2);
      return [...(await upsertBatch(records.slice(0, half), signal)), ...(await upsertBatch(records.slice(half), signal))];
    }
    if (!response.ok) throw requestFailure(response, answer, options.gate);
    if (!Array.isArray(answer) || answer.length !== records.length) {
      throw transientFailure('CrmUnavailable', `Salesforce answered ${response.status} without one result per record`);
    }
    return (answer as UpsertResult[]).map((result, i) => outcomeOf(result, records[i]!));
  }

  return {
    name: 'salesforce',
    maxBatch: SALESFORCE_MAX_BATCH,

    async upsert(records, signal) {
      if (records.length === 0) return [];
      if (records.length > SALESFORCE_MAX_BATCH) {
        throw permanentFailure('CrmRejected', `a Salesforce upsert carries at most ${SALESFORCE_MAX_BATCH} records, not ${records.length}`);
      }
      return upsertBatch(records, signal);
    },

    async erase(leadId, signal) {
      const path = `/sobjects/${sobject}/${externalIdField}/${encodeURIComponent(leadId)}`;
      const { response, body } = await api('DELETE', path, undefined, signal);
      if (response.ok) return { deleted: true };
      if (response.status === 404 && errorCode(body) === 'NOT_FOUND') return { deleted: false };
      throw requestFailure(response, body, options.gate);
    },
  };
}

function outcomeOf(result: UpsertResult, record: CrmRecord): CrmRecordOutcome {
  if (result.success === true) return { ok: true, created: result.created === true, stale: false, crmId: result.id };
  const error = result.errors?.[0];
  const code = error?.statusCode ?? 'UNKNOWN';
  const summary = `Salesforce refused lead ${record.leadId} v${record.version}: ${code}: ${error?.message ?? 'no message'}${error?.fields?.length ? ` (${error.fields.join(', ')})` : ''}`;
  if (CONFLICT_CODES.has(code)) return { ok: false, failure: permanentFailure('CrmConflict', summary) };
  if (TRANSIENT_CODES.has(code)) return { ok: false, failure: transientFailure('CrmUnavailable', summary) };
  return { ok: false, failure: permanentFailure('CrmRejected', summary) };
}

/**
 * A whole request's failure. A spent allowance pauses the gate (and this request's retry) an
 * hour; 5xx, 408 and 429 are transient, and so are 401 and 403 (a session refused again right
 * after renewal, a user without access: the operator's fix, which must not dead-letter every
 * lead); other 4xx (an unknown field or version) are permanent: retrying cannot change them.
 */
function requestFailure(response: Response, body: unknown, gate: CrmRequestGate): Error {
  const code = errorCode(body);
  const summary = `Salesforce answered ${response.status}${code ? ` ${code}` : ''}: ${JSON.stringify(body ?? '').slice(0, 200)}`;
  if (response.status === 403 && code === 'REQUEST_LIMIT_EXCEEDED') {
    gate.observe({ dailyRemaining: 0, pauseUntil: Date.now() + ALLOWANCE_PAUSE_MS });
    return transientFailure('CrmRateLimited', `${summary} (daily API allowance spent; pausing ${ALLOWANCE_PAUSE_MS / 60_000} min)`, { retryAfterMs: ALLOWANCE_PAUSE_MS });
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  if (response.status === 429) return transientFailure('CrmRateLimited', summary, { retryAfterMs });
  if (response.status === 401 || response.status === 403) return transientFailure('CrmUnavailable', summary, { retryAfterMs });
  if (response.status >= 400 && response.status < 500 && response.status !== 408) return permanentFailure('CrmRejected', summary);
  return transientFailure('CrmUnavailable', summary, { retryAfterMs });
}

/** The first errorCode of Salesforce's `[{message, errorCode}]` error body. */
function errorCode(body: unknown): string | undefined {
  const first = Array.isArray(body) ? (body[0] as { errorCode?: unknown } | undefined) : undefined;
  return typeof first?.errorCode === 'string' ? first.errorCode : undefined;
}

/** Requests left today from `api-usage=N/M`. */
export function remainingAllowance(header: string | null): number | undefined {
  const match = /api-usage=(\d+)\/(\d+)/.exec(header ?? '');
  return match ? Math.max(0, Number(match[2]) - Number(match[1])) : undefined;
}

/** What one request to the REST API needs besides its session. */
interface Transport {
  send: typeof fetch;
  apiVersion: string;
  timeoutMs: number;
  gate: CrmRequestGate;
}

/** One request through the gate, with the timeout; an unreachable API is a transient failure. */
async function sendOnce(transport: Transport, session: SalesforceSession, method: string, path: string, body: unknown, signal?: AbortSignal) {
  const { send, apiVersion, gate } = transport;
  await gate.acquire(signal);
  const timeout = AbortSignal.timeout(transport.timeoutMs);
  let response: Response;
  try {
    response = await send(`${session.instanceUrl}/services/data/${apiVersion}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    const reason = timeout.aborted ? `no answer within ${transport.timeoutMs} ms` : (err as Error).message;
    throw transientFailure('CrmUnavailable', `Salesforce unreachable: ${reason}`);
  }
  const dailyRemaining = remainingAllowance(response.headers.get('sforce-limit-info'));
  if (dailyRemaining !== undefined) gate.observe({ dailyRemaining });
  return { response, body: safeJson(await response.text()) };
}
