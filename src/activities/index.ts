import { Context } from '@temporalio/activity';
import type { LeadFields, LeadView } from '../domain/lead.js';
import { normalizeLead, scoreLead } from '../domain/scoring.js';
import type { CrmClient, CrmLead } from './crm.js';
import { EMAIL_TEMPLATES, type EmailTemplateName } from './email-templates.js';
import type { Mailer } from './mailer.js';
import { createAutomationActivities, type AutomationDeps } from './automation.js';
import { countedCrmSync, countedEmail } from './business-metrics.js';
import { unsubscribeLink } from './unsubscribe-headers.js';

export interface ActivityDeps {
  crm: CrmClient;
  mailer: Mailer;
  /** Domain part of generated Message-IDs. */
  messageIdDomain: string;
  /** Automation definitions and the lead gateway; createWorkers fills it in when absent. */
  automations?: AutomationDeps;
}

const currentAttempt = () => Context.current().info.attempt;

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/**
 * Builds the activities from their dependencies, so the worker passes real adapters and
 * tests can pass others. Names keep the old design's task types recognisable:
 * processLead = lead_process, syncLeadToCrm = crm_update, sendLeadEmail = email_send.
 */
export function createActivities(deps: ActivityDeps) {
  const { main, crm } = createActivitiesByTaskQueue(deps);
  return { ...main, ...crm };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The same activities, grouped by the task queue whose worker runs them: the CRM queue runs
 * only CRM writes (its worker's limits are the CRM's), the main queue everything else.
 */
export function createActivitiesByTaskQueue(deps: ActivityDeps) {
  return {
    main: {
      ...createLeadActivities(deps),
      // The automation runs' activities (src/activities/automation.ts).
      ...createAutomationActivities(deps.automations, deps.mailer, deps.messageIdDomain),
    },
    crm: createCrmActivities(deps),
  };
}

function createLeadActivities(deps: ActivityDeps) {
  return {
    async processLead(input: { leadId: string; fields: LeadFields }) {
      const fields = normalizeLead(input.fields);
      return { fields, score: scoreLead(fields), attempt: currentAttempt() };
    },

    async sendLeadEmail(input: { leadId: string; template: EmailTemplateName; lead: LeadView }) {
      // The link settings live with the automations' (createWorkers always fills them in).
      const unsubscribe = unsubscribeLink(deps.automations, input.leadId);
      const rendered = EMAIL_TEMPLATES[input.template](input.lead, unsubscribe.url);
      const messageId = `<${input.template}.${input.leadId}@${deps.messageIdDomain}>`;
      await countedEmail(() =>
        deps.mailer.send({
          to: input.lead.email,
          ...rendered,
          messageId,
          headers: { 'X-Lead-Id': input.leadId, 'X-Idempotency-Key': `${input.leadId}:${input.template}`, ...unsubscribe.headers },
        }),
      );
      return { messageId, attempt: currentAttempt() };
    },
  };
}

function createCrmActivities(deps: ActivityDeps) {
  return {
    async syncLeadToCrm(input: { leadId: string; version: number; lead: CrmLead }) {
      const result = await countedCrmSync(() =>
        deps.crm.upsertContact(
          {
            externalId: input.leadId,
            version: input.version,
            lead: input.lead,
            // Business key, not the activity id: activity ids restart at every continue-as-new.
            idempotencyKey: `${input.leadId}:${input.version}`,
          },
          cancellationSignal(),
        ),
      );
      return { ...result, attempt: currentAttempt() };
    },
  };
}
