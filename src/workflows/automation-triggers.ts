import {
  log,
  ParentClosePolicy,
  proxyLocalActivities,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { automationRunId, runKeyOfTask } from '../automations/ids.js';
import type { LeadChange, LeadView } from '../domain/lead.js';
import { automationRunSettings, type AutomationRunInput, type AutomationRunSettings } from '../temporal/automation-messages.js';
import { automationRun } from './automation-run.js';

const { matchAutomations } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '200ms' },
});

/**
 * Called by the lead workflow after it processed a batch of changes: starts the runs of
 * every automation the batch triggers, as child workflows that outlive the lead's run
 * (parent close policy ABANDON, so continue-as-new does not end them). A run's id names
 * the triggering change, and Temporal refuses a second start of an id (REJECT_DUPLICATE),
 * so a trigger seen twice — a replay, a retried request — starts one run.
 */
export async function startTriggeredAutomations(
  leadId: string,
  before: LeadView | null,
  after: LeadView,
  batch: LeadChange[],
  settings: Omit<AutomationRunSettings, 'timeScale'>,
): Promise<void> {
  const event = before ? 'lead.updated' : 'lead.created';
  // A lead's creation is its create change; an update is named by the batch's last change.
  const trigger = (event === 'lead.created' ? batch.find((c) => c.op === 'create') : undefined) ?? batch[batch.length - 1];
  if (!trigger) return;
  let matched: Awaited<ReturnType<Activities['matchAutomations']>>;
  try {
    matched = await matchAutomations({ leadId, event, before, after });
  } catch (err) {
    log.error('could not match automations; none started for this change', { leadId, error: String(err) });
    return;
  }
  await Promise.all(
    matched.automations.map(async (automation) => {
      const workflowId = automationRunId(leadId, automation.id, runKeyOfTask(trigger.task_id));
      const input: AutomationRunInput = {
        leadId,
        automation,
        trigger: { event, task_id: trigger.task_id },
        settings: automationRunSettings(settings, matched.timeScale),
      };
      try {
        await startChild(automationRun, {
          workflowId,
          args: [input],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          memo: { automation_id: automation.id, lead_id: leadId, definition_hash: automation.hash, trigger: event },
          staticSummary: `${automation.id} for lead ${leadId} (${event}, definition ${automation.hash.slice(0, 12)})`,
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        log.error('could not start an automation run', { workflowId, error: String(err) });
      }
    }),
  );
}
