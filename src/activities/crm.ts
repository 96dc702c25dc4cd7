import type { LeadView } from '../domain/lead.js';
import { parseRetryAfter, permanentFailure, transientFailure } from './failures.js';

/** What the orchestrator needs from a CRM: an idempotent, version-guarded upsert. */
export interface CrmClient {
  upsertContact(request: CrmUpsert, signal?: AbortSignal): Promise<CrmUpsertResult>;
}

/** What the CRM receives: the lead as the API shows it, without the orchestrator's own CRM state. */
export type CrmLead = Omit<LeadView, 'crm'>;

export interface CrmUpsert {
  externalId: string;
  version: number;
  lead: CrmLead;
  idempotencyKey: string;
  /**
   * When the rate limiter let this request go (epoch ms), sent as `X-Rate-Limit-Granted-At`:
   * a CRM ignores it; the simulator measures the workers' sends per sliding second from it,
   * on the senders' clock, so a stall of its own cannot bunch up what it counts.
   */
  grantedAt?: number;
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
 */
export function createRestCrmClient(options: RestCrmOptions): CrmClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const send = options.fetch ?? fetch;
  return {
    async upsertContact(request, signal) {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': request.idempotencyKey,
      };
      if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
      if (request.grantedAt !== undefined) headers['x-rate-limit-granted-at'] = String(request.grantedAt);
      let response: Response;
      try {
        response = await send(`${base}/contacts/${encodeURIComponent(request.externalId)}`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ version: request.version, lead: request.lead }),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (err as Error).message;
        throw transientFailure('CrmUnavailable', `CRM unreachable: ${reason}`);
      }
      const body = await response.text();
      if (response.ok) {
        const parsed = safeJson(body) as Partial<CrmUpsertResult> | undefined;
        return {
          created: parsed?.created === true,
          version: typeof parsed?.version === 'number' ? parsed.version : request.version,
          stale: parsed?.stale === true,
        };
      }
      const summary = `CRM answered ${response.status}: ${body.slice(0, 200)}`;
      if (response.status === 429) {
        throw transientFailure('CrmRateLimited', summary, {
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        });
      }
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 409) {
        throw permanentFailure('CrmRejected', summary);
      }
      throw transientFailure('CrmUnavailable', summary, {
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
