import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { quote } from '../temporal/protocol.js';
import { ADDRESS_RECORD_WORKFLOW, type AddressBook } from './address-book.js';

// Leads started before email claims existed (lead workflow generations 1 to 4) hold no claim:
// a POST of their email would make a second lead. This gives every running lead a claim on
// its current email, once per deployment (a record marks it done), at worker start-up.

export interface ClaimMigration {
  leads: number;
  claimed: number;
  held: number;
  /** Leads whose email another lead already holds (two leads of one person, made before claims). */
  conflicts: Array<{ leadId: string; holder: string }>;
}

const MIGRATION_ID = 'migration-email-claims-v1';

/**
 * Claims each running lead's current email for it (idempotent: a held claim is left alone),
 * then starts the marker record. `force` runs it even when the marker exists.
 */
export async function migrateEmailClaims(
  client: Client,
  scope: { taskQueue: string; addresses: AddressBook },
  { force = false, onProgress }: { force?: boolean; onProgress?: (done: number) => void } = {},
): Promise<ClaimMigration | 'done before'> {
  const marker = `${MIGRATION_ID}-${scope.taskQueue}`;
  if (!force && (await markerExists(client, marker))) return 'done before';
  const result: ClaimMigration = { leads: 0, claimed: 0, held: 0, conflicts: [] };
  let skipped = 0;
  const query = `WorkflowType = 'leadWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = ${quote(scope.taskQueue)}`;
  for await (const run of client.workflow.list({ query })) {
    const leadId = run.workflowId.replace(/^lead-/, '');
    const memo = (run.memo ?? {}) as { lead?: { email?: string }; email?: string };
    const email = memo.lead?.email ?? memo.email;
    if (!email) {
      skipped++; // visibility has no email for it yet: the migration runs again next start
      continue;
    }
    result.leads++;
    const outcome = await scope.addresses.claim(email, leadId, '', true);
    if (outcome.claim.leadId !== leadId) result.conflicts.push({ leadId, holder: outcome.claim.leadId });
    else if (outcome.fresh) result.claimed++;
    else result.held++;
    if (result.leads % 500 === 0) onProgress?.(result.leads);
  }
  if (skipped > 0) return result;
  try {
    await client.workflow.start(ADDRESS_RECORD_WORKFLOW, {
      workflowId: marker,
      taskQueue: scope.taskQueue,
      args: [],
      memo: { leads: result.leads, claimed: result.claimed, conflicts: result.conflicts.length },
      startDelay: '87600h',
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return result;
}

async function markerExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}
