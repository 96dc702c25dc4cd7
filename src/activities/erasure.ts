import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { leadRunsPrefix } from '../automations/ids.js';
import { leadWorkflowId } from '../domain/ids.js';
import { claimWorkflowId, type AddressBook } from '../identity/address-book.js';
import { isNotFound, quote } from '../temporal/protocol.js';
import { permanentFailure } from './failures.js';

/** What the erasure's activities reach: Temporal itself (terminate, list, delete) and the address book. */
export interface ErasureDeps {
  client: Client;
  namespace: string;
  addresses: AddressBook;
}

const heartbeat = () => {
  try {
    Context.current().heartbeat();
  } catch {
    // outside an activity (unit tests)
  }
};
/** Sleeps, or throws as soon as the activity is cancelled (a worker shutting down, a timeout). */
const sleep = (ms: number): Promise<void> => {
  try {
    return Context.current().sleep(ms);
  } catch {
    return new Promise((resolve) => setTimeout(resolve, ms)); // outside an activity (unit tests)
  }
};

/** The lead's executions: every run of its workflow and of its automation runs. */
const leadExecutionsQuery = (leadId: string) => `WorkflowId = ${quote(leadWorkflowId(leadId))} OR WorkflowId STARTS_WITH ${quote(leadRunsPrefix(leadId))}`;

/** The activities of the lead erasure (src/workflows/lead-erasure.ts), but the CRM's. */
export function createErasureActivities(deps: ErasureDeps | undefined) {
  const need = (): ErasureDeps => {
    if (!deps) throw permanentFailure('ErasureNotConfigured', 'this worker was built without a Temporal client for erasures');
    return deps;
  };
  return {
    /** Terminates the lead's workflow and its running automation runs, so nothing acts on it any more. */
    async stopLeadRuns(input: { leadId: string }): Promise<{ note: string }> {
      const { client } = need();
      let stopped = 0;
      for await (const run of client.workflow.list({ query: `(${leadExecutionsQuery(input.leadId)}) AND ExecutionStatus = 'Running'` })) {
        heartbeat();
        try {
          await client.workflow.getHandle(run.workflowId, run.runId).terminate('lead erased on request');
          stopped++;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return { note: `${stopped} running execution(s) stopped` };
    },

    /** Suppresses the address under its key, so no later lead with it is mailed. */
    async suppressErasedAddress(input: { emailKeys: string[] }): Promise<{ note: string }> {
      // Under the current key (the first); a suppression already there keeps its first reason.
      const [key] = input.emailKeys;
      if (!key) return { note: 'no email key' };
      const fresh = await need().addresses.suppressKey(key, { reason: 'erased', source: 'erasure', at: new Date().toISOString() });
      return { note: fresh ? 'address suppressed (keyed hash kept)' : 'address was suppressed already' };
    },

    /** Ends the lead's claim on its email and deletes the claim's records that name the lead. */
    async releaseErasedClaims(input: { leadId: string; emailKeys: string[] }): Promise<{ note: string }> {
      const { addresses, client, namespace } = need();
      let deleted = 0;
      for (const key of input.emailKeys) {
        await addresses.releaseKey(key, input.leadId, 'lead erased');
        for await (const run of client.workflow.list({ query: `WorkflowId = ${quote(claimWorkflowId(key))}` })) {
          heartbeat();
          if (run.memo?.lead_id !== input.leadId) continue;
          deleted += await deleteExecution(client, namespace, run.workflowId, run.runId);
        }
      }
      return { note: `claim released; ${deleted} claim record(s) deleted` };
    },

    /**
     * Deletes every execution of the lead (all runs of its workflow, its automation runs) and
     * waits until visibility lists none: the Web UI and GET /api/leads then show nothing of it.
     */
    async deleteLeadExecutions(input: { leadId: string }): Promise<{ note: string }> {
      const { client, namespace } = need();
      let deleted = 0;
      for (let round = 0; ; round++) {
        const left: Array<{ workflowId: string; runId: string }> = [];
        for await (const run of client.workflow.list({ query: leadExecutionsQuery(input.leadId) })) left.push(run);
        if (left.length === 0) return { note: `${deleted} execution(s) deleted` };
        for (const run of left) {
          heartbeat();
          deleted += await deleteExecution(client, namespace, run.workflowId, run.runId);
        }
        // Deletion is asynchronous at the server: look again until visibility shows none.
        heartbeat();
        await sleep(Math.min(5000, 250 * 2 ** Math.min(round, 4)));
      }
    },
  };
}

async function deleteExecution(client: Client, namespace: string, workflowId: string, runId: string): Promise<number> {
  try {
    await client.workflowService.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId, runId } });
    return 1;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}
