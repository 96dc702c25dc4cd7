import type { LeadInput } from '../domain/lead.js';

// How the lead service writes the creates of one batch (POST /api/leads/batch): each lead's
// items in order, different leads side by side, each item's task id derived from the
// request's Idempotency-Key and the item's place in the request.

/**
 * Leads of one batch written to Temporal at once: enough to keep a busy server's queue full
 * (its round trips then take hundreds of ms), few enough that one batch does not crowd out
 * the single writes sharing the API process's Temporal connection.
 */
export const BATCH_WRITE_CONCURRENCY = 32;

export interface BatchItem {
  /** Place of the lead in the request's `leads`. */
  index: number;
  fields: LeadInput;
}

/**
 * The Idempotency-Key a batch item's task id derives from. The space cannot occur in a
 * client's key (visible ASCII only), so no single write's key can yield the same task id.
 */
export function batchItemKey(idempotencyKey: string, index: number): string {
  return `batch ${index} ${idempotencyKey}`;
}

/**
 * Runs `write` for every item: the items of one lead one after another in the order given
 * (its changes apply in arrival order, and a second create of an email must find the first
 * one's workflow started), different leads up to `concurrency` at a time. After a failure no
 * further write starts; the first error is thrown once the writes in flight have settled.
 */
export async function inLeadOrder<T, R>(
  items: readonly T[],
  leadOf: (item: T) => string,
  concurrency: number,
  write: (item: T, leadId: string) => Promise<R>,
): Promise<R[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const lead = leadOf(item);
    const group = groups.get(lead);
    if (group) group.push(i);
    else groups.set(lead, [i]);
  });
  const queue = [...groups];
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const runner = async () => {
    while (!failure && next < queue.length) {
      const [lead, group] = queue[next++]!;
      for (const i of group) {
        if (failure) return;
        try {
          results[i] = await write(items[i]!, lead);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, runner));
  if (failure) throw failure.error;
  return results;
}
