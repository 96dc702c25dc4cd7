import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { LeadWorkflowInput } from '../temporal/lead-messages.js';
import { decodePayloadsInPlace } from '../temporal/payload-codec.js';
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
    const email = await currentEmail(client, run);
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

/**
 * The email a running lead shows: its published memo's. A run that has not published yet (no
 * batch since it started, or since a continue-as-new that did not pass its memo on, before
 * generation 5) shows in visibility the memo its chain started with, perhaps an email it has
 * left since: its start event carries its state instead.
 */
async function currentEmail(client: Client, run: WorkflowExecutionInfo): Promise<string | undefined> {
  const memo = (run.memo ?? {}) as { lead?: { email?: string }; email?: string };
  if (memo.lead?.email) return memo.lead.email;
  const input = await startInput(client, run.workflowId, run.runId);
  return input?.carried?.fields.email ?? input?.initial?.fields.email ?? memo.email;
}

async function startInput(client: Client, workflowId: string, runId: string): Promise<LeadWorkflowInput | undefined> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) return undefined;
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  await decodePayloadsInPlace(payloadCodecs, started.input);
  return payloadConverter.fromPayload<LeadWorkflowInput>(started.input!.payloads![0]!);
}

async function markerExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}
