import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { hashBody, idempotencyRecordId } from '../domain/ids.js';
import { idempotencyRecord } from '../workflows/index.js';
import { IdempotencyConflictError } from './errors.js';
import type { TemporalCalls } from '../temporal/calls.js';

export interface IdempotencyClaim {
  key: string;
  /** What the key is used for (`POST /api/leads`, `patch <id>`): the same key may serve each once. */
  scope: string;
  body: unknown;
}

/**
 * An Idempotency-Key is claimed by starting a tiny workflow whose id derives from the key
 * and whose memo holds the body's hash: Temporal's id uniqueness makes the claim atomic
 * across API processes. The same key with the same body proceeds (the write itself is
 * deduplicated by its stable task id); with another body it is refused (422).
 */
export async function claimIdempotencyKey(
  calls: TemporalCalls,
  taskQueue: string,
  claim: IdempotencyClaim,
  deadline: number,
  /** A keyed hash for bodies with personal data (a plain hash of a guessable email can be tested). */
  digest: (body: unknown) => string = hashBody,
): Promise<void> {
  const workflowId = idempotencyRecordId(`${claim.scope}\n${claim.key}`);
  const bodyHash = digest(claim.body);
  await calls.within(deadline, async () => {
    try {
      await calls.client.workflow.start(idempotencyRecord, {
        workflowId,
        taskQueue,
        args: [],
        memo: { scope: claim.scope, body_hash: bodyHash },
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const description = await calls.client.workflow.getHandle(workflowId).describe();
    if (description.memo?.body_hash !== bodyHash) throw new IdempotencyConflictError();
  });
}
