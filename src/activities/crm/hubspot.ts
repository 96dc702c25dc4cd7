import { permanentFailure, transientFailure } from '../failures.js';
import type { CrmConnector, CrmRecord, CrmRecordOutcome, CrmRequestGate, VendorLimits } from './connector.js';
import { contactProperties, LEAD_ID_PROPERTY, type CustomPropertyMap } from './hubspot-properties.js';

/**
 * HubSpot (CRM Contacts v3) as a `CrmConnector`: a batch upsert of up to 100 contacts per request,
 * matched on the unique custom property `ao_lead_id`, and the GDPR delete for erasure. A thin
 * `fetch` client rather than `@hubspot/api-client`: the connector needs every answer's rate-limit
 * headers, its own split of a refused batch and its own failure mapping, which the SDK's
 * generated client and its built-in retries get in the way of, and it adds no dependency.
 *
 * HubSpot has no version guard: the last write wins, so `stale` is always false; the batcher
 * never sends two versions of one lead in one request.
 */

export interface HubSpotConnectorOptions {
  /** Default https://api.hubapi.com. */
  baseUrl?: string;
  /** The private app's access token (scope crm.objects.contacts.write). */
  accessToken: string;
  timeoutMs: number;
  gate: CrmRequestGate;
  /** Replaces global fetch: the worker passes a traced one when tracing is on. */
  fetch?: typeof fetch;
  /** Custom lead fields to HubSpot properties (`{industry: 'industry'}`). */
  properties?: CustomPropertyMap;
}

const BATCH_UPSERT = '/crm/v3/objects/contacts/batch/upsert';
const GDPR_DELETE = '/crm/v3/objects/contacts/gdpr-delete';
const DEFAULT_WINDOW_MS = 10_000;
const HOUR_MS = 3_600_000;

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

interface UpsertResult {
  id: string;
  new: boolean;
  properties?: Record<string, string>;
}

interface HubSpotErrorBody {
  message?: string;
  category?: string;
  policyName?: string;
  errors?: { code?: string; message?: string }[];
}

export function createHubSpotConnector(options: HubSpotConnectorOptions): CrmConnector {
  const base = (options.baseUrl ?? 'https://api.hubapi.com').replace(/\/+$/, '');
  const send = options.fetch ?? fetch;

  /** One request through the gate; what the answer says about the limits goes back to the gate. */
  async function post(path: string, payload: unknown, signal?: AbortSignal): Promise<Answer> {
    await options.gate.acquire(signal);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await send(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : (err as Error).message;
      throw transientFailure('CrmUnavailable', `HubSpot unreachable: ${reason}`);
    }
    const answer = { status: response.status, headers: response.headers, body: safeJson(text), text };
    options.gate.observe(limitsOf(answer, Date.now()));
    return answer;
  }

  /**
   * Upserts `records` in one request. A refusal that can be about one record (409 CONFLICT for an
   * email another contact holds, 400 VALIDATION_ERROR for a value) is bisected until each bad
   * record stands alone: one bad record in 100 costs 15 requests instead of 100.
   */
  async function upsertPart(records: CrmRecord[], signal?: AbortSignal): Promise<CrmRecordOutcome[]> {
    const inputs = records.map((record) => ({
      idProperty: LEAD_ID_PROPERTY,
      id: record.leadId,
      objectWriteTraceId: `${record.leadId}:${record.version}`,
      properties: contactProperties(record, options.properties),
    }));
    const answer = await post(BATCH_UPSERT, { inputs }, signal);
    if (answer.status === 200 || answer.status === 207) return outcomesOf(records, answer, signal);
    if (!isRecordRefusal(answer)) throw requestFailure(answer);
    if (records.length === 1) return [{ ok: false, failure: recordFailure(answer.status, answer.body as HubSpotErrorBody, answer.text) }];
    return bisect(records, signal);
  }

  async function bisect(records: CrmRecord[], signal?: AbortSignal): Promise<CrmRecordOutcome[]> {
    const half = Math.ceil(records.length / 2);
    const first = await upsertPart(records.slice(0, half), signal);
    return [...first, ...(await upsertPart(records.slice(half), signal))];
  }

  /**
   * Results match inputs by `ao_lead_id` (HubSpot does not promise their order). Records a 207
   * left without a result are sent again without the others, so the failure each gets is its own.
   */
  async function outcomesOf(records: CrmRecord[], answer: Answer, signal?: AbortSignal): Promise<CrmRecordOutcome[]> {
    const body = answer.body as { results?: UpsertResult[]; errors?: HubSpotErrorBody[] } | undefined;
    const results = body?.results ?? [];
    const byLeadId = new Map(results.map((result) => [result.properties?.[LEAD_ID_PROPERTY], result]));
    // With one input, its result is the one result, whatever properties HubSpot chose to echo.
    if (records.length === 1 && results.length === 1) byLeadId.set(records[0]!.leadId, results[0]!);
    const missing = records.filter((record) => !byLeadId.has(record.leadId));
    if (missing.length > 0 && records.length === 1) {
      const error = body?.errors?.[0];
      return [{ ok: false, failure: recordFailure(answer.status, error, JSON.stringify(error ?? body)) }];
    }
    // A smaller request each time: the records left out, or halves when none got a result.
    if (missing.length === records.length) return bisect(records, signal);
    const retried = missing.length > 0 ? await upsertPart(missing, signal) : [];
    const again = new Map(missing.map((record, i) => [record.leadId, retried[i]!]));
    return records.map((record) => {
      const result = byLeadId.get(record.leadId);
      return result ? { ok: true, created: result.new, stale: false, crmId: result.id } : again.get(record.leadId)!;
    });
  }

  return {
    name: 'hubspot',
    maxBatch: 100,
    async upsert(records, signal) {
      if (records.length === 0) return [];
      return upsertPart(records, signal);
    },
    async erase(leadId, signal) {
      // By ao_lead_id, not email: HubSpot blocklists an email it cannot find in a GDPR delete.
      const answer = await post(GDPR_DELETE, { objectId: leadId, idProperty: LEAD_ID_PROPERTY }, signal);
      if (answer.status === 204 || answer.status === 200) return { deleted: true };
      if (answer.status === 404) return { deleted: false };
      throw requestFailure(answer);
    },
  };
}

/** A whole-request refusal that may be one record's fault: worth splitting the batch to find it. */
function isRecordRefusal(answer: Answer): boolean {
  if (answer.status === 409) return true;
  if (answer.status !== 400) return false;
  // Every record carries the same property names, so a missing property is the portal's setup, not a record's.
  return !missingProperties(answer.body as HubSpotErrorBody).length;
}

function missingProperties(body: HubSpotErrorBody | undefined): string[] {
  return (body?.errors ?? []).filter((e) => e.code === 'PROPERTY_DOESNT_EXIST').map((e) => e.message ?? '');
}

/** One record's refusal: another contact holds its email (CrmConflict), or HubSpot refuses a value (CrmRejected). */
function recordFailure(status: number, body: HubSpotErrorBody | undefined, text: string): Error {
  const summary = `HubSpot answered ${status}: ${(body?.message ?? text).slice(0, 300)}`;
  if (status === 409 || body?.category === 'CONFLICT') return permanentFailure('CrmConflict', summary);
  return permanentFailure('CrmRejected', summary);
}

/**
 * A failure of the request as a whole: always transient. 429 and 5xx pass by themselves. The
 * rest (401/403 for a revoked or rotated token or a missing scope, a portal lacking a property,
 * a wrong base URL's 404) are set right once by an operator, and every lead is refused alike
 * until then: a permanent failure would mark every lead's version failed and need each
 * re-driven, while a transient one lets them all retry by themselves once the fix lands. The
 * message says what to fix.
 */
function requestFailure(answer: Answer): Error {
  const body = answer.body as HubSpotErrorBody | undefined;
  const summary = `HubSpot answered ${answer.status}: ${(body?.message ?? answer.text).slice(0, 300)}`;
  if (answer.status === 429) {
    const pauseUntil = limitsOf(answer, Date.now()).pauseUntil;
    return transientFailure('CrmRateLimited', summary, { retryAfterMs: pauseUntil === undefined ? undefined : Math.max(0, pauseUntil - Date.now()) });
  }
  if (answer.status === 401 || answer.status === 403) {
    return transientFailure('CrmUnavailable', `${summary} (check the HubSpot access token and its crm.objects.contacts.write scope)`);
  }
  const missing = answer.status === 400 ? missingProperties(body) : [];
  if (missing.length > 0) return transientFailure('CrmUnavailable', `${summary} (define these contact properties in the portal: ${missing.join('; ')})`);
  return transientFailure('CrmUnavailable', summary);
}

/**
 * What an answer says about the limits: its X-HubSpot-RateLimit-* headers, and on a 429 when to
 * try again. The rolling window frees a slot within one interval, so a TEN_SECONDLY_ROLLING 429
 * pauses one interval. The daily cap resets at midnight in the portal's time zone, which the
 * connector does not know, so a DAILY 429 pauses to the next full hour (UTC): at most 24 probes a
 * day, and sending resumes within an hour of the reset wherever the portal is.
 */
export function limitsOf(answer: Pick<Answer, 'status' | 'headers' | 'body'>, now: number): VendorLimits {
  const header = (name: string) => {
    const value = Number(answer.headers.get(`x-hubspot-ratelimit-${name}`) ?? Number.NaN);
    return Number.isFinite(value) ? value : undefined;
  };
  const limits: VendorLimits = {
    remaining: header('remaining'),
    max: header('max'),
    windowMs: header('interval-milliseconds'),
    dailyRemaining: header('daily-remaining'),
  };
  if (answer.status === 429) {
    const policy = (answer.body as HubSpotErrorBody | undefined)?.policyName;
    limits.pauseUntil = policy === 'DAILY' || limits.dailyRemaining === 0 ? Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS : now + (limits.windowMs ?? DEFAULT_WINDOW_MS);
  }
  return limits;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
