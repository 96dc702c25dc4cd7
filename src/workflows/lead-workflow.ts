import { allHandlersFinished, condition, makeContinueAsNewFunc, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { MAX_BATCH } from '../domain/lead-read-model.js';
import {
  LEAD_WORKFLOW_GENERATION,
  leadChangeSignal,
  leadQuery,
  processedLeadQuery,
  redriveSignal,
  redriveUpdate,
  taskQuery,
  type LeadWorkflowInput,
  type LeadWorkflowSettings,
} from '../temporal/lead-messages.js';
import { startTriggeredAutomations } from './automation-triggers.js';
import { LeadPublisher } from './lead-publish.js';
import { repairWait } from './lead-repair.js';
import { LeadEntity } from './lead-state.js';
import { LeadSteps, releaseLeftEmails } from './lead-steps.js';
import type { LeadChange, LeadView } from '../domain/lead.js';

/** What one run works with. */
interface LeadRun {
  input: LeadWorkflowInput;
  /** Generation 2 or later: takes the patched paths without asking `patched()`. */
  current: boolean;
  /** Generation 5 or later: permanent failures are dead letters, transient ones back off (lead-repair.ts). */
  deadLetters: boolean;
  entity: LeadEntity;
  steps: LeadSteps;
  publisher: LeadPublisher;
  /** An operator asked for the repair now (redrive signal or update); cleared when it runs. */
  redrive: boolean;
}

/**
 * The entity workflow of one lead (workflow id `lead-<leadId>`). Every accepted write
 * arrives as a `leadChange` signal; changes are applied strictly in arrival order, and
 * changes that arrive while a CRM write is in flight are coalesced into the next write,
 * so the CRM always ends holding the latest version.
 */
export async function leadWorkflow(input: LeadWorkflowInput): Promise<void> {
  const { leadId, settings } = input;
  const generation = input.generation ?? 1;
  const entity = new LeadEntity(leadId, input.carried);
  const deadLetters = generation >= 5;
  const steps = new LeadSteps(entity, settings, deadLetters);
  const publisher = new LeadPublisher(entity, generation, input.initial, input.carried);
  const run: LeadRun = { input, current: generation >= 2, deadLetters, entity, steps, publisher, redrive: false };
  listen(run);

  for (;;) {
    // A re-drive only wakes this wait: runs that never got one take exactly the path their
    // histories recorded (the timer's start and its firing or cancellation are unchanged).
    const wait = deadLetters
      ? repairWait(entity, settings.crmResyncIntervalMs)
      : entity.needsRepair()
        ? settings.crmResyncIntervalMs
        : undefined;
    const woke = await condition(() => entity.pending.length > 0 || historyIsLong(settings) || run.redrive, wait);
    if (entity.pending.length > 0) {
      await runBatch(run);
    } else if (deadLetters) {
      // Without a timer condition() resolves undefined, which is no timer firing.
      await repairFailedWork(run, wait !== undefined && !woke);
    } else if ((!woke || run.redrive) && entity.needsRepair()) {
      run.redrive = false;
      await steps.repair();
      publisher.publish();
    } else {
      // Nothing (left) to repair: a re-drive must not keep the wait above from blocking.
      run.redrive = false;
    }
    if (historyIsLong(settings) && entity.pending.length === 0) await continueRun(run);
  }
}

/** Accepts the run's initial change and sets the signal and query handlers. */
function listen(run: LeadRun): void {
  const { input, current, entity } = run;
  // Signals that arrived before the first workflow task are delivered the moment their
  // handler is set, so the creating change must be accepted first or updates acknowledged
  // after it would be applied before it (found by the fault-injection suite). Patched so
  // histories recorded with the old order still replay.
  const initialFirst = current || patched('initial-change-first');
  if (initialFirst && input.initial) entity.accept(input.initial);
  setHandler(leadChangeSignal, (change) => entity.accept(change));
  setHandler(leadQuery, () => entity.view());
  setHandler(processedLeadQuery, () => entity.processedView());
  setHandler(taskQuery, (taskId) => entity.tasks.get(taskId) ?? null);
  setHandler(redriveSignal, () => {
    run.redrive = true;
  });
  setHandler(
    redriveUpdate,
    () => {
      run.redrive = true;
      return { crm: entity.crm.status, welcome: entity.welcome };
    },
    {
      // Refused before it is written to history: nothing failed, or it is being retried already.
      validator: () => {
        if (!entity.needsRepair()) throw new Error(`nothing to retry (crm ${entity.crm.status}, welcome ${entity.welcome})`);
      },
    },
  );

  if (!initialFirst && input.initial) entity.accept(input.initial);
}

/**
 * Generation 5: a re-drive retries every failed step, dead letters included, and starts the
 * backoff over; the timer retries only transient failures, and each repair that leaves one
 * failed doubles the next wait (repairWait resets it once nothing transient is left).
 */
async function repairFailedWork(run: LeadRun, timerFired: boolean): Promise<void> {
  const { entity, steps, publisher } = run;
  const redrive = run.redrive;
  run.redrive = false;
  if (redrive && entity.needsRepair()) {
    entity.failedRepairs = 0;
    await steps.repair('all');
  } else if (timerFired && entity.needsTimerRepair()) {
    await steps.repair('transient');
    if (entity.needsTimerRepair()) entity.failedRepairs += 1;
  } else {
    return;
  }
  publisher.publish();
}

/** Applies the next batch of pending changes, runs its steps, and starts what it triggers. */
async function runBatch({ input, current, entity, steps, publisher }: LeadRun): Promise<void> {
  const before = entity.view();
  const batch = entity.pending.splice(0, MAX_BATCH);
  const batchTasks = entity.applyBatch(batch);
  // Changes made in the CRM: nothing to write back, and nothing at all when the lead showed them already.
  const fromCrm = batch.every((c) => c.source === 'crm');
  if (fromCrm && entity.lead.version === before?.version) {
    steps.skipAll(batchTasks, 'the lead already shows this change from the CRM');
    entity.finishBatch(batchTasks);
    publisher.publish(batchTasks);
    return;
  }
  const optOut = batch.some((c) => c.fields.unsubscribed === true);
  // Generation 5: a batch that keeps the lead's address and carries no consent needs no read of it.
  const unchanged =
    input.generation !== undefined &&
    input.generation >= 5 &&
    before !== null &&
    !optOut &&
    batch.every((c) => (c.op === 'replace' || c.op === 'patch') && (c.fields.email ?? before.email) === before.email);
  await steps.normalize(batchTasks, { optOut, unchanged });
  // crm_update and email_send run side by side: a CRM outage must not hold back the welcome.
  // Generation 5: so does the release of the email claims the batch left behind.
  await Promise.all([
    fromCrm && crmHoldsLead(batch, entity) ? steps.skipCrmEcho(batchTasks, before!.version) : steps.crmUpdate(batchTasks),
    steps.welcomeEmail(batchTasks),
    input.generation !== undefined && input.generation >= 5 ? releaseLeftEmails(input.settings, input.leadId, leftEmails(before, batch, entity)) : undefined,
  ]);
  entity.finishBatch(batchTasks);
  publisher.publish(batchTasks);
  // Start the automations this batch triggers. patched() keeps histories recorded
  // before automations existed replaying: for them it is false at this point.
  if (current || patched('automation-triggers')) {
    await startTriggeredAutomations(input.leadId, before, entity.view()!, batch, input.settings);
  }
}

/**
 * Whether the CRM holds what a batch of its own changes made of the lead: lead_process may
 * have normalized a value the CRM sent (a phone number's spaces), which then is written to the
 * CRM like any change (its echo makes no version, so nothing loops).
 */
function crmHoldsLead(batch: LeadChange[], entity: LeadEntity): boolean {
  const fields = (entity.fields ?? {}) as Record<string, unknown>;
  return batch.every((change) =>
    Object.entries(change.fields).every(([key, value]) =>
      key === 'custom'
        ? Object.entries(value as Record<string, unknown>).every(([k, v]) => String((fields.custom as Record<string, unknown> | undefined)?.[k]) === String(v))
        : !(key in fields) || fields[key] === value || key === 'email' || key === 'unsubscribed',
    ),
  );
}

/** The emails a batch left: the lead's before it and its changes', but its email now and pending changes'. */
function leftEmails(before: LeadView | null, batch: LeadChange[], entity: LeadEntity): string[] {
  const keep = new Set([entity.fields?.email, ...entity.pending.map((c) => c.fields.email)]);
  const seen = new Set([before?.email, ...batch.map((c) => c.fields.email)]);
  return [...seen].filter((e): e is string => typeof e === 'string' && !keep.has(e));
}

function historyIsLong(settings: LeadWorkflowSettings): boolean {
  return workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= settings.continueAsNewAfterEvents;
}

async function continueRun({ input, entity, publisher }: LeadRun): Promise<void> {
  // Let signal handlers settle so no accepted change is dropped at the run boundary;
  // anything that still arrives is carried over in `pending`.
  await condition(allHandlersFinished);
  // The memo only names the command's attributes, which replay does not compare: no patch needed.
  const memo = publisher.memoForNextRun();
  const next = makeContinueAsNewFunc<typeof leadWorkflow>(memo ? { memo: { ...memo } } : {});
  await next({
    leadId: input.leadId,
    settings: input.settings,
    generation: LEAD_WORKFLOW_GENERATION,
    carried: entity.carry(),
  });
}
