import { condition } from '@temporalio/workflow';

/**
 * An address record (src/identity/address-book.ts): started with a start delay of ten years,
 * so it never runs in practice. Registered so that a record that does run (a signal sent to
 * it by hand, or the delay spent) waits instead of failing its workflow task.
 */
export async function addressRecord(): Promise<void> {
  await condition(() => false);
}
