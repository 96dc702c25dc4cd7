import type { LeadView } from '../../domain/lead.js';
import { parseRetryAfter, permanentFailure, transientFailure } from '../failures.js';

/**
 * What the orchestrator needs from a CRM: an idempotent, version-guarded upsert, and a
 * delete (erasure). A CRM keeps one contact per email: an upsert that would give a second
 * contact an email another one holds fails permanently (`CrmConflict`).
 */
export interface CrmClient {
  upsertContact(request: CrmUpsert, signal?: AbortSignal): Promise<CrmUpsertResult>;
  /** Removes the contact; `deleted: false` when the CRM has no such contact (already gone). */
  deleteContact(externalId: string, signal?: AbortSignal, sent?: CrmSent): Promise<{ deleted: boolean }>;
}

/** What the CRM receives: the lead as the API shows it, without the orchestrator's own CRM state. */
export type CrmLead = Omit<LeadView, 'crm'>;

/** How a request was let out, for the CRM (simulator) to see. */
export interface CrmSent {
  /**
   * When the rate limiter let this request go (epoch ms), sent as `X-Rate-Limit-Granted-At`:
   * a CRM ignores it; the simulator measures the workers' sends per sliding second from it,
   * on the senders' clock, so a stall of its own cannot bunch up what it counts.
   */
  grantedAt?: number;
}

export interface CrmUpsert extends CrmSent {
  externalId: string;
  version: number;
  lead: CrmLead;
  idempotencyKey: string;
}

export interface CrmUpsertResult {
  created: boolean;
  version: number;
  stale: boolean;
}

export interface RestCrmOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  timeoutMs: number;
  /** Replaces global fetch: the worker passes a traced one when tracing is on. */
  fetch?: typeof fetch;
}

/**
 * Generic REST CRM adapter: `PUT {base}/contacts/{externalId}` with the lead and its
 * version, keyed by `Idempotency-Key: <leadId>:<version>`. The CRM keeps the highest
 * version it has seen, so a replayed or late write can never roll a contact back.
 * `DELETE {base}/contacts/{externalId}` removes a contact; a 404 means it is already gone.
 */
export function createRestCrmClient(options: RestCrmOptions): CrmClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? fetch;

  /** One request; a network error or the timeout is a transient failure. */
  async function call(method: 'PUT' | 'DELETE', externalId: string, init: { headers: Record<string, string>; body?: string; sent?: CrmSent | undefined }, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const headers = { ...init.headers };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    if (init.sent?.grantedAt !== undefined) headers['x-rate-limit-granted-at'] = String(init.sent.grantedAt);
    let response: Response;
    try {
      response = await send(`${base}/contacts/${encodeURIComponent(externalId)}`, {
        method,
        headers,
        body: init.body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (err as Error).message;
      throw transientFailure('CrmUnavailable', `CRM unreachable: ${reason}`);
    }
    return { response, body: await response.text() };
  }

  return {
    async upsertContact(request, signal) {
      const { response, body } = await call(
        'PUT',
        request.externalId,
        {
          headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
          body: JSON.stringify({ version: request.version, lead: request.lead }),
          sent: request,
        },
        signal,
      );
      if (response.ok) {
        const parsed = safeJson(body) as Partial<CrmUpsertResult> | undefined;
        return {
          created: parsed?.created === true,
          version: typeof parsed?.version === 'number' ? parsed.version : request.version,
          stale: parsed?.stale === true,
        };
      }
      throw failureOf(response, body);
    },

    async deleteContact(externalId, signal, sent) {
      const { response, body } = await call('DELETE', externalId, { headers: {}, sent }, signal);
      if (response.ok) return { deleted: true };
      if (response.status === 404) return { deleted: false };
      throw failureOf(response, body);
    },
  };
}

/**
 * A CRM's error answer as a failure: 409 (another contact holds the email; retrying
 * cannot free it) and other 4xx are permanent; 408, 429 and 5xx are transient, with the
 * server's Retry-After as the next delay.
 */
function failureOf(response: Response, body: string): Error {
  const summary = `CRM answered ${response.status}: ${body.slice(0, 200)}`;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  if (response.status === 429) return transientFailure('CrmRateLimited', summary, { retryAfterMs });
  if (response.status === 409) return permanentFailure('CrmConflict', summary);
  if (response.status >= 400 && response.status < 500 && response.status !== 408) return permanentFailure('CrmRejected', summary);
  return transientFailure('CrmUnavailable', summary, { retryAfterMs });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
