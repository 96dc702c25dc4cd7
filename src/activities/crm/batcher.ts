import type { CrmConnector, CrmRecord, CrmRecordOutcome } from './connector.js';
import type { CrmClient, CrmUpsertResult } from './rest.js';

/**
 * Gathers the CRM writes that one worker process runs at the same time into vendor batches.
 *
 * Each lead's `syncLeadToCrm` activity calls `upsertContact` as before and completes or fails
 * on its own record's outcome, so Temporal's retries stay per lead. A batch goes out when it
 * is full, or `maxWaitMs` after its first record arrived; at most `maxInFlight` batches are
 * out (or waiting at the rate limiter) at once, so under load the records pile up into full
 * batches instead of spending the vendor's request budget on small ones.
 *
 * Per lead, order holds: a batch never carries two records of one lead, and a lead's record
 * waits while an older one of the same lead is still out, so a last-write-wins CRM can never
 * see an older version land after a newer one (the workflow already sends a lead's versions
 * one at a time; this keeps a retried attempt from overtaking an abandoned one still queued).
 */
export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  maxInFlight: number;
}

interface Waiting {
  record: CrmRecord;
  queuedAt: number;
  resolve(result: CrmUpsertResult): void;
  reject(err: unknown): void;
  signal?: AbortSignal | undefined;
}

export interface CrmBatcherStats {
  requests: number;
  records: number;
}

export function batchedCrm(connector: CrmConnector, options: BatcherOptions): CrmClient & { stats(): CrmBatcherStats } {
  const maxBatch = Math.max(1, Math.min(options.maxBatch, connector.maxBatch));
  const queue: Waiting[] = [];
  const outLeads = new Set<string>();
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  const stats: CrmBatcherStats = { requests: 0, records: 0 };

  function schedule(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (inFlight < options.maxInFlight) {
      const batch = takeBatch(queue, outLeads, maxBatch, options.maxWaitMs);
      if (batch === 'empty') return; // what waits is behind its lead's record out: sent when that returns
      if (typeof batch === 'number') {
        timer = setTimeout(schedule, batch);
        return;
      }
      void send(batch);
    }
  }

  async function send(batch: Waiting[]): Promise<void> {
    inFlight++;
    for (const w of batch) outLeads.add(w.record.leadId);
    stats.requests++;
    stats.records += batch.length;
    let outcomes: CrmRecordOutcome[] | undefined;
    let failure: unknown;
    try {
      outcomes = await connector.upsert(batch.map((w) => w.record));
    } catch (err) {
      failure = err;
    }
    inFlight--;
    for (const w of batch) outLeads.delete(w.record.leadId);
    settle(batch, outcomes, failure);
    schedule();
  }

  return {
    upsertContact(request, signal) {
      signal?.throwIfAborted();
      return new Promise<CrmUpsertResult>((resolve, reject) => {
        const record: CrmRecord = { leadId: request.externalId, version: request.version, lead: request.lead };
        const waiting: Waiting = { record, queuedAt: Date.now(), resolve, reject, signal };
        queue.push(waiting);
        // A cancelled activity leaves the queue at once; one already out gets its answer.
        signal?.addEventListener(
          'abort',
          () => {
            const at = queue.indexOf(waiting);
            if (at >= 0) {
              queue.splice(at, 1);
              reject(signal.reason);
            }
          },
          { once: true },
        );
        schedule();
      });
    },
    async deleteContact(externalId, signal) {
      return connector.erase(externalId, signal);
    },
    stats: () => ({ ...stats }),
  };
}

/**
 * The next batch to send, oldest records first, if it is due (full, or its oldest record has
 * waited `maxWaitMs`); otherwise the ms until it is due. Cancelled records leave on the way,
 * and so does the batch taken (from `queue`, which this changes).
 */
function takeBatch(queue: Waiting[], outLeads: ReadonlySet<string>, maxBatch: number, maxWaitMs: number): Waiting[] | number | 'empty' {
  const picked: number[] = [];
  const leads = new Set<string>();
  for (let i = 0; i < queue.length && picked.length < maxBatch; ) {
    const waiting = queue[i]!;
    if (waiting.signal?.aborted) {
      queue.splice(i, 1);
      waiting.reject(waiting.signal.reason);
      continue;
    }
    const { leadId } = waiting.record;
    if (!outLeads.has(leadId) && !leads.has(leadId)) {
      leads.add(leadId);
      picked.push(i);
    }
    i++;
  }
  if (picked.length === 0) return 'empty';
  const waited = Date.now() - queue[picked[0]!]!.queuedAt;
  if (picked.length < maxBatch && waited < maxWaitMs) return maxWaitMs - waited;
  const batch = picked.map((i) => queue[i]!);
  for (const i of picked.reverse()) queue.splice(i, 1);
  return batch;
}

/** Each waiting activity gets its record's outcome, or the request's failure. */
function settle(batch: Waiting[], outcomes: CrmRecordOutcome[] | undefined, failure: unknown): void {
  batch.forEach((w, i) => {
    const outcome = outcomes?.[i];
    if (!outcome) w.reject(failure ?? new Error(`the CRM connector answered ${outcomes?.length} outcomes for ${batch.length} records`));
    else if (outcome.ok) w.resolve({ created: outcome.created, stale: outcome.stale, version: w.record.version });
    else w.reject(outcome.failure);
  });
}
