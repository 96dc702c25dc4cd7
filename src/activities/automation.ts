import { Context } from '@temporalio/activity';
import type { AutomationCatalog } from '../automations/loader.js';
import { ENV_REFERENCE, type PinnedAutomation, type RenderableTemplate } from '../automations/schema.js';
import { emailContext, renderTemplate } from '../automations/templates.js';
import { LeadPatch, type LeadView } from '../domain/lead.js';
import { countedEmail } from './business-metrics.js';
import { parseRetryAfter, permanentFailure, transientFailure } from './failures.js';
import type { LeadGateway } from './lead-gateway.js';
import type { Mailer } from './mailer.js';
import type { AddressBook } from '../identity/address-book.js';
import { suppressOnRejection } from './suppression.js';
import { unsubscribeLink } from './unsubscribe-headers.js';
import { sendWebhookRequest, type WebhookAnswer } from './webhook-request.js';
import { signWebhook, webhookSecretKey } from './webhook-signature.js';
import { WebhookRefusedError, type ResolveHost } from './webhook-target.js';

/** Everything the automation activities need, built once per worker. */
export interface AutomationDeps {
  catalog: AutomationCatalog;
  leads: LeadGateway;
  /** AUTOMATION_TIME_SCALE, pinned into every run a lead change starts. */
  timeScale: number;
  /** Relative webhook URLs (`/webhooks/sales`) resolve against this. */
  webhookBaseUrl: string;
  webhookTimeoutMs: number;
  /** Hosts (`host` or `host:port`) a webhook may reach whatever they resolve to (webhookAllowedHostsOf). */
  webhookAllowedHosts: readonly string[];
  /** How webhook hosts are resolved; node:dns by default (tests resolve names of their own). */
  webhookResolve?: ResolveHost;
  /** Where `secret_env` and `${NAME}` in header values are read; process.env by default. */
  secretEnv?: NodeJS.ProcessEnv;
  unsubscribeBaseUrl: string;
  unsubscribeSecret: string;
}

export interface AutomationEmailInput {
  runId: string;
  stepKey: string;
  leadId: string;
  automationName: string;
  templateName: string;
  template: RenderableTemplate;
}

export type AutomationEmailResult =
  | { sent: true; messageId: string; attempt: number }
  | { sent: false; reason: 'unsubscribed' | 'lead_not_found' };

export interface LeadUpdateInput {
  leadId: string;
  taskId: string;
  set?: LeadPatch | undefined;
  addTags?: string[] | undefined;
  removeTags?: string[] | undefined;
  /** Custom fields merged into the lead's custom map (not replacing it). */
  custom?: Record<string, string | number | boolean> | undefined;
}

export interface MatchInput {
  leadId: string;
  event: 'lead.created' | 'lead.updated';
  before: LeadView | null;
  after: LeadView;
}

export interface WebhookInput {
  runId: string;
  stepKey: string;
  leadId: string;
  automationId: string;
  name: string;
  url: string;
  payload?: Record<string, unknown> | undefined;
  headers?: Record<string, string> | undefined;
  /** The environment variable holding the signing secret (`whsec_<base64>`); unset = unsigned. */
  secretEnv?: string | undefined;
}

const TASK_POLL_MS = 200;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests)
  }
}
const attempt = () => activityContext()?.info.attempt ?? 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Activities of the automation runs. The lead's state is read from its workflow at the
 * moment a step needs it, so every step sees the lead as it is now, not as it was when
 * the run started.
 */
export function createAutomationActivities(deps: AutomationDeps | undefined, mailer: Mailer, messageIdDomain: string, addresses?: AddressBook) {
  const need = (): AutomationDeps => {
    if (!deps) throw permanentFailure('AutomationsNotConfigured', 'this worker was built without automation dependencies');
    return deps;
  };

  return {
    /** Local activity of the lead workflow: which automations this change starts, pinned as they are now. */
    async matchAutomations(input: MatchInput): Promise<{ automations: PinnedAutomation[]; timeScale: number }> {
      return matchAutomations(need(), input);
    },

    async readLead(input: { leadId: string }): Promise<LeadView | null> {
      return need().leads.read(input.leadId);
    },

    async sendAutomationEmail(input: AutomationEmailInput): Promise<AutomationEmailResult> {
      return sendAutomationEmail(need(), mailer, messageIdDomain, input, addresses);
    },

    async applyLeadUpdate(input: LeadUpdateInput): Promise<{ version: number; taskId: string }> {
      return applyLeadUpdate(need(), input);
    },

    async postWebhook(input: WebhookInput): Promise<{ status: number; attempt: number }> {
      return postWebhook(need(), input);
    },
  };
}

export type AutomationActivities = ReturnType<typeof createAutomationActivities>;

function matchAutomations(d: AutomationDeps, input: MatchInput): { automations: PinnedAutomation[]; timeScale: number } {
  const matched = d.catalog.match(input.event, input.before, input.after);
  return {
    automations: matched.map(({ id, hash, definition, templates }) => ({ id, hash, definition, templates })),
    timeScale: d.timeScale,
  };
}

/**
 * One email step. The lead is read first: an unsubscribed lead gets nothing and the
 * run stops. The Message-ID is stable per run and step, so a resend after a crash
 * between SMTP acceptance and completion is detectable as a duplicate.
 */
async function sendAutomationEmail(
  d: AutomationDeps,
  mailer: Mailer,
  messageIdDomain: string,
  input: AutomationEmailInput,
  addresses?: AddressBook,
): Promise<AutomationEmailResult> {
  const lead = await d.leads.read(input.leadId);
  if (!lead) return { sent: false, reason: 'lead_not_found' };
  // The lead's view, then the address itself: a bounce or opt-out the lead has not applied yet.
  if (lead.unsubscribed || (await addresses?.suppression(lead.email))) return { sent: false, reason: 'unsubscribed' };
  const unsubscribe = unsubscribeLink(d, input.leadId);
  const rendered = renderTemplate(input.template, emailContext(lead, unsubscribe.url, input.automationName));
  const messageId = `<${input.runId}.${input.stepKey}@${messageIdDomain}>`;
  await suppressOnRejection(addresses, lead.email, () =>
    countedEmail(() =>
      mailer.send({
        to: lead.email,
        ...rendered,
        messageId,
        headers: {
          'X-Lead-Id': input.leadId,
          'X-Automation-Run': input.runId,
          'X-Idempotency-Key': `${input.runId}:${input.stepKey}`,
          ...unsubscribe.headers,
        },
      }),
    ),
  );
  return { sent: true, messageId, attempt: attempt() };
}

/**
 * An update_lead (or score) step: a patch signalled to the lead's workflow with the
 * step's deterministic task id, so a retry is applied once; returns once the lead has
 * applied it, so the next step reads the new state.
 */
async function applyLeadUpdate(d: AutomationDeps, input: LeadUpdateInput): Promise<{ version: number; taskId: string }> {
  const lead = await d.leads.read(input.leadId);
  if (!lead) throw permanentFailure('LeadNotFound', `no lead with id ${input.leadId}`);
  const known = await d.leads.task(input.leadId, input.taskId);
  if (!known) {
    await d.leads.change(input.leadId, {
      task_id: input.taskId,
      op: 'patch',
      fields: leadPatch(lead, input),
      received_at: new Date().toISOString(),
    });
  }
  for (;;) {
    const task = await d.leads.task(input.leadId, input.taskId);
    const processed = task?.steps.find((s) => s.name === 'lead_process');
    if (task && task.version !== null && processed && processed.status !== 'pending' && processed.status !== 'running') {
      return { version: task.version, taskId: input.taskId };
    }
    activityContext()?.heartbeat();
    await sleep(TASK_POLL_MS);
  }
}

/** The step's change as a lead patch: custom fields merged into the lead's, tags added and removed. */
function leadPatch(lead: LeadView, input: LeadUpdateInput): LeadPatch {
  const patch: Record<string, unknown> = { ...(input.set ?? {}) };
  if (input.set?.custom || input.custom) patch.custom = { ...(lead.custom ?? {}), ...(input.set?.custom ?? {}), ...(input.custom ?? {}) };
  if (input.addTags?.length || input.removeTags?.length) {
    const remove = new Set(input.removeTags ?? []);
    patch.tags = [...(lead.tags ?? []), ...(input.addTags ?? [])].filter((t) => !remove.has(t));
  }
  const parsed = LeadPatch.safeParse(patch);
  if (!parsed.success) {
    throw permanentFailure('InvalidLeadUpdate', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/**
 * A webhook step: POST JSON with `Idempotency-Key: <runId>:<stepKey>`, signed when the step
 * names a secret; 4xx and 3xx are final, 5xx and 429 are retried. Failures name the status
 * and never quote the answer: their messages reach the API (`last_error`), and an answer is
 * whatever the receiver chose to send.
 */
async function postWebhook(d: AutomationDeps, input: WebhookInput): Promise<{ status: number; attempt: number }> {
  const lead = await d.leads.read(input.leadId);
  if (!lead) throw permanentFailure('LeadNotFound', `no lead with id ${input.leadId}`);
  const { crm: _crm, ...leadFields } = lead;
  const env = d.secretEnv ?? process.env;
  const url = new URL(input.url.startsWith('/') ? `${d.webhookBaseUrl.replace(/\/+$/, '')}${input.url}` : input.url);
  const id = `${input.runId}:${input.stepKey}`;
  const body = JSON.stringify({
    event: 'automation.webhook',
    webhook: input.name,
    automation_id: input.automationId,
    run_id: input.runId,
    step: input.stepKey,
    lead: leadFields,
    data: input.payload ?? {},
  });
  const headers: Record<string, string> = {
    ...withEnvValues(input.name, input.headers ?? {}, env),
    'content-type': 'application/json',
    'idempotency-key': id,
    'user-agent': 'automation-orchestrator',
  };
  if (input.secretEnv) {
    const secret = env[input.secretEnv];
    if (!secret) throw permanentFailure('WebhookSecretMissing', `webhook ${input.name}: ${input.secretEnv} (its secret_env) is not set in the worker's environment`);
    const key = webhookSecretKey(secret);
    if (!key) throw permanentFailure('WebhookSecretInvalid', `webhook ${input.name}: ${input.secretEnv} is not a whsec_<base64> secret of at least 16 bytes`);
    Object.assign(headers, signWebhook(key, id, Math.floor(Date.now() / 1000), body));
  }
  const timeout = AbortSignal.timeout(d.webhookTimeoutMs);
  const cancelled = activityContext()?.cancellationSignal;
  let answer: WebhookAnswer;
  try {
    answer = await sendWebhookRequest({
      url,
      headers,
      body,
      signal: cancelled ? AbortSignal.any([cancelled, timeout]) : timeout,
      allowedHosts: d.webhookAllowedHosts,
      ...(d.webhookResolve ? { resolve: d.webhookResolve } : {}),
    });
  } catch (err) {
    if (err instanceof WebhookRefusedError) throw permanentFailure('WebhookRefused', `webhook ${input.name} refused: ${err.message}`);
    const reason = timeout.aborted ? `no answer within ${d.webhookTimeoutMs} ms` : (err as Error).message;
    throw transientFailure('WebhookUnavailable', `webhook ${input.name} unreachable: ${reason}`);
  }
  return webhookOutcome(input.name, answer);
}

/** Header values with `${NAME}` replaced by that environment variable: secrets stay out of the YAML and the run's history. */
function withEnvValues(webhook: string, headers: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = value.replace(ENV_REFERENCE, (_, variable: string) => {
      const found = env[variable];
      if (found === undefined || found === '') throw permanentFailure('WebhookSecretMissing', `webhook ${webhook}: header ${name} needs ${variable}, which is not set in the worker's environment`);
      if (!/^[\x20-\x7E]*$/.test(found)) throw permanentFailure('WebhookSecretInvalid', `webhook ${webhook}: ${variable} (header ${name}) is not printable ASCII`);
      return found;
    });
  }
  return out;
}

function webhookOutcome(name: string, answer: WebhookAnswer): { status: number; attempt: number } {
  const { status } = answer;
  if (status >= 200 && status < 300) return { status, attempt: attempt() };
  const summary = `webhook ${name} answered ${status}`;
  const retryAfterMs = parseRetryAfter(answer.retryAfter);
  if (status >= 300 && status < 400) {
    throw permanentFailure('WebhookRedirected', `${summary}, a redirect: webhooks do not follow redirects, so point its url at the final address`);
  }
  if (status === 429) throw transientFailure('WebhookRateLimited', summary, { retryAfterMs });
  if (status >= 400 && status < 500 && status !== 408 && status !== 409) throw permanentFailure('WebhookRejected', summary);
  throw transientFailure('WebhookUnavailable', summary, { retryAfterMs });
}
