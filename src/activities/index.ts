import { Context } from '@temporalio/activity';
import type { LeadFields, LeadView } from '../domain/lead.js';
import type { AddressBook } from '../identity/address-book.js';
import { normalizeLead, scoreLead } from '../domain/scoring.js';
import type { CrmClient, CrmLead } from './crm/rest.js';
import { EMAIL_TEMPLATES, type EmailTemplateName } from './email-templates.js';
import type { Mailer } from './mailer.js';
import { createAutomationActivities, type AutomationDeps } from './automation.js';
import { countedCrmSync, countedEmail } from './business-metrics.js';
import { suppressOnRejection } from './suppression.js';
import { createErasureActivities, type ErasureDeps } from './erasure.js';
import { unsubscribeLink } from './unsubscribe-headers.js';

export interface ActivityDeps {
  crm: CrmClient;
  mailer: Mailer;
  /** Domain part of generated Message-IDs. */
  messageIdDomain: string;
  /** Automation definitions and the lead gateway; createWorkers fills it in when absent. */
  automations?: AutomationDeps;
  /**
   * Claims and suppressions of email addresses (src/identity); createWorkers fills it in when
   * absent. Without it (unit tests) consent is the lead's own `unsubscribed` field.
   */
  addresses?: AddressBook;
  /** What the lead erasure needs besides the CRM; createWorkers fills it in when absent. */
  erasure?: ErasureDeps;
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
      ...createAutomationActivities(deps.automations, deps.mailer, deps.messageIdDomain, deps.addresses),
      // The lead erasure's activities (src/activities/erasure.ts), but the CRM's.
      ...createErasureActivities(deps.erasure),
    },
    crm: createCrmActivities(deps),
  };
}

function createLeadActivities(deps: ActivityDeps) {
  return {
    /**
     * lead_process: normalize, score, and show the address's consent. `optOut`: a change of the
     * batch opted out, which suppresses the address (older runs do not say; their merged field
     * tells). `unsubscribed` then is the address's state, whatever the lead's writes said.
     * `consentUnchanged`: the batch kept the lead's address and sent no consent (generation 5).
     */
    async processLead(input: { leadId: string; fields: LeadFields; optOut?: boolean; consentUnchanged?: boolean }) {
      const fields = normalizeLead(input.fields);
      const { addresses } = deps;
      // Same address, no consent change in the batch: the lead shows the address's state already
      // (a suppression made elsewhere is sent to the lead as a consent change), so no read.
      if (addresses && !input.consentUnchanged) {
        const optOut = input.optOut ?? fields.unsubscribed === true;
        if (optOut) await addresses.suppress(fields.email, { reason: 'unsubscribed', source: 'lead_change', at: new Date().toISOString() });
        fields.unsubscribed = optOut || (await addresses.suppression(fields.email)) !== null;
      } else if (addresses) {
        // A replace that left the field out keeps what the lead showed (false unless opted out).
        fields.unsubscribed = fields.unsubscribed === true;
      }
      return { fields, score: scoreLead(fields), attempt: currentAttempt() };
    },

    /** Ends this lead's claims on the emails it left (the lead workflow after a batch that moved its email). */
    async releaseEmailClaims(input: { leadId: string; emails: string[] }) {
      let released = 0;
      for (const email of input.emails) if (await deps.addresses?.release(email, input.leadId)) released++;
      return { released };
    },

    async sendLeadEmail(input: { leadId: string; template: EmailTemplateName; lead: LeadView }) {
      const messageId = `<${input.template}.${input.leadId}@${deps.messageIdDomain}>`;
      // The address's consent at the moment of sending: an opt-out, bounce or erasure recorded
      // after the lead was processed still stops the email.
      const suppressed = await deps.addresses?.suppression(input.lead.email);
      if (suppressed) return { messageId, attempt: currentAttempt(), skipped: `address suppressed (${suppressed.reason})` };
      // The link settings live with the automations' (createWorkers always fills them in).
      const unsubscribe = unsubscribeLink(deps.automations, input.leadId);
      const rendered = EMAIL_TEMPLATES[input.template](input.lead, unsubscribe.url);
      await suppressOnRejection(deps.addresses, input.lead.email, () =>
        countedEmail(() =>
          deps.mailer.send({
            to: input.lead.email,
            ...rendered,
            messageId,
            headers: { 'X-Lead-Id': input.leadId, 'X-Idempotency-Key': `${input.leadId}:${input.template}`, ...unsubscribe.headers },
          }),
        ),
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

    /** The erasure's CRM step: the contact goes; one that is not there is fine. */
    async deleteCrmContact(input: { leadId: string }): Promise<{ note: string }> {
      const { deleted } = await deps.crm.deleteContact(input.leadId, cancellationSignal());
      return { note: deleted ? 'CRM contact deleted' : 'no CRM contact to delete' };
    },
  };
}
