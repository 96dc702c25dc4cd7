import type { CrmLead } from './rest.js';

/**
 * A vendor CRM as the worker's batcher (batcher.ts) sees it: upserts of many leads in one
 * request, an outcome per record, and erasure. The REST dialect of the project's own
 * simulator (rest.ts) carries one record per call; HubSpot and Salesforce carry up to their
 * batch sizes.
 *
 * Failures are `ApplicationFailure`s made by `permanentFailure` / `transientFailure`
 * (../failures.ts), with the types the workflow knows: `CrmConflict` (another contact holds
 * the email: permanent), `CrmRejected` (the CRM refuses the record: permanent),
 * `CrmRateLimited` and `CrmUnavailable` (transient, with the vendor's delay when it gave one).
 */
export interface CrmConnector {
  readonly name: CrmAdapterName;
  /** Records one request may carry; 1 means no batching. */
  readonly maxBatch: number;
  /**
   * Upserts `records` in one request (the batcher never puts two records of one lead in one
   * call) and answers an outcome per record, in the records' order. Throws (a failure as
   * above) when the request as a whole failed: unreachable, timed out, 429, 5xx, refused
   * credentials. A whole-request 4xx that names no record (a vendor that refuses a batch
   * for one bad input) is the connector's to split, so the good records still land.
   */
  upsert(records: CrmRecord[], signal?: AbortSignal): Promise<CrmRecordOutcome[]>;
  /** Erases the lead's contact (the vendor's GDPR delete where it has one); false when it had none. */
  erase(leadId: string, signal?: AbortSignal): Promise<{ deleted: boolean }>;
}

export type CrmAdapterName = 'rest' | 'hubspot' | 'salesforce';

/** One lead at one version, as the CRM should hold it. */
export interface CrmRecord {
  leadId: string;
  version: number;
  lead: CrmLead;
}

export type CrmRecordOutcome =
  | {
      ok: true;
      /** The CRM made a new contact for it (rather than updating one). */
      created: boolean;
      /** The CRM already held a newer version and kept it (only CRMs with a version guard). */
      stale: boolean;
      /** The vendor's own id of the contact, when it says. */
      crmId?: string | undefined;
    }
  | { ok: false; failure: Error };

/**
 * What a connector asks before every request it sends to the vendor, and tells after it:
 * the worker's limiter (rate-limit.ts) counts vendor requests, not records.
 */
export interface CrmRequestGate {
  /** Resolves (with the time it was granted) when one request may go now; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<number>;
  /** What the vendor said about its limits on an answer (its rate-limit headers, a 429's delay). */
  observe(limits: VendorLimits): void;
}

export interface VendorLimits {
  /** Requests left in the vendor's current rolling window, and that window's length. */
  remaining?: number | undefined;
  windowMs?: number | undefined;
  /** Requests the window allows in all (HubSpot's X-HubSpot-RateLimit-Max). */
  max?: number | undefined;
  /** Requests left today (HubSpot's daily cap, Salesforce's daily allowance). */
  dailyRemaining?: number | undefined;
  /** No request before this time (epoch ms): a 429's Retry-After, a spent daily cap's reset. */
  pauseUntil?: number | undefined;
}

/** A gate that lets every request through at once and ignores what the vendor says (tests, no limit). */
export const OPEN_GATE: CrmRequestGate = {
  acquire: async () => Date.now(),
  observe: () => undefined,
};
