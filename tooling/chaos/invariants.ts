import { applyChange } from '../../src/domain/apply-change.js';
import { LeadInput, LeadPatch, type ChangeOp, type LeadFields } from '../../src/domain/lead.js';
import { normalizeLead } from '../../src/domain/scoring.js';
import { stableStringify } from '../../src/domain/ids.js';
import { isTerminal, TASK_STATUSES, type TaskStatus } from '../../src/domain/task.js';
import type { ChangeKind, LeadRecord, PlannedChange } from './load.js';

/**
 * The end-of-run checks, as pure functions of what the load generator was told (202s)
 * and what the outside world holds: the CRM's contacts, the mailbox, the task statuses.
 * The contacts come from either CRM simulator (see crm.ts); where one keeps less (HubSpot:
 * no create count, the lead as string properties), the checks compare what it keeps.
 *
 * - lost: a lead whose CRM contact is missing, behind the last acknowledged version, or
 *   holding other content than the acknowledged writes produce (applied in order): every
 *   field where the CRM keeps the lead whole (REST), the email where it keeps properties.
 * - double_applied: a contact ahead of what was acknowledged (a retried write applied
 *   twice); only a write whose outcome the load generator never learnt may explain one.
 * - dup_crm: more than one CRM create, or more than one contact, for one lead.
 * - emails: the welcome email's Message-ID is `<welcome.<leadId>@domain>`; a second copy
 *   is an at-least-once duplicate (window) when the email activity was retried (its step
 *   shows attempts > 1) and the first copy was accepted shortly before a worker kill or
 *   around a Temporal outage: the activity had sent it, but its completion never became
 *   durable in Temporal. Any other second copy is a real duplicate (dup_email).
 * - stuck: an acknowledged task not in a terminal state.
 * - dup_email_contacts: CRM contacts sharing an email with another contact (any contact,
 *   not only this run's leads): one person, one contact. Counts every contact beyond the first.
 * - mailed_after_optout: messages to an opted-out lead's address accepted by the SMTP sink
 *   later than the opt-out's 202 plus a grace (OPT_OUT_GRACE_MS). The lead applies its
 *   changes in order, so nothing it sends after the opt-out may reach the address; an
 *   email activity already past its consent check when the 202 came may still land, and
 *   the grace covers that send (not a send retried for longer, which must check again).
 */

/** How long after an opt-out's 202 a message already in flight to the address may still be accepted. */
export const OPT_OUT_GRACE_MS = 2_000;

/** A CRM contact as the invariants read it, whichever CRM holds it. */
export interface ContactView {
  leadId: string;
  /** '' when the contact has none. */
  email: string;
  /** The lead version the contact holds. */
  version: number;
  /** The lead's fields, when the CRM keeps them whole (the REST simulator); else only the email is compared. */
  lead?: Record<string, unknown>;
  /** Creates of this contact, when the CRM counts them (REST; HubSpot's unique ao_lead_id allows one). */
  creates?: number;
  /** Writes that repeated an idempotency key, when the CRM counts them (REST). */
  duplicateKeys?: number;
}

export interface MailView {
  messageId: string;
  receivedAt: string;
  to: string[];
}

export interface TaskView {
  task_id: string;
  /** A task status, or 'unknown' when the API could not say. */
  status: TaskStatus | 'unknown';
  attempts: number;
  /** Attempts of the task's email_send step, when it has one. */
  emailAttempts?: number | undefined;
}

/** A period in which an email accepted by the SMTP server may never have been reported to Temporal. */
export interface FaultWindow {
  kind: 'worker-kill' | 'server-outage';
  /** Epoch ms: the kill, or the outage's start and end. */
  from: number;
  to: number;
}

export interface InvariantInput {
  leads: readonly LeadRecord[];
  contacts: readonly ContactView[];
  messages: readonly MailView[];
  tasks: readonly TaskView[];
  faults: readonly FaultWindow[];
  messageIdDomain: string;
  /** How long before a kill (or an outage) an accepted email can still lack its completion. */
  windowMs: number;
  /** Defaults to OPT_OUT_GRACE_MS. */
  optOutGraceMs?: number;
}

export interface LeadProblem {
  id: string;
  problem: string;
}

export interface InvariantReport {
  leads: number;
  /** Changes acknowledged with a 202 (the create included). */
  acknowledged: number;
  /** Leads whose last change got no answer in time (outcome unknown). */
  unresolved: number;
  /** Leads whose change was refused with a 4xx. */
  rejected: number;
  lost: number;
  /** Of the lost, leads whose contact holds an older version than the last acknowledged one. */
  versionsBehind: number;
  doubleApplied: number;
  dupCrm: number;
  /** CRM writes that repeated an idempotency key (absorbed by the version guard). */
  crmReplays: number;
  dupEmail: number;
  window: number;
  /** The duplicates inside a window: which fault, and ms from the first copy to it. */
  windowed: Array<{ leadId: string; kind: FaultWindow['kind']; gapMs: number; copies: number }>;
  missingEmail: number;
  /** Contacts whose email another contact has too (each beyond the first per email). */
  dupEmailContacts: number;
  /** Leads whose opt-out was acknowledged. */
  optedOut: number;
  /** Messages to an opted-out address accepted later than its opt-out's 202 plus the grace. */
  mailedAfterOptOut: number;
  stuck: number;
  failedTasks: number;
  tasksChecked: number;
  tasksWithRetries: number;
  maxAttempts: number;
  problems: LeadProblem[];
}

const OPS: Record<ChangeKind, ChangeOp> = { create: 'create', 'duplicate-create': 'create', replace: 'replace', patch: 'patch', 'opt-out': 'patch' };

/** The lead's fields after these changes, as the workflow computes them (parse, apply in order, normalize). */
export function expectedFields(changes: readonly PlannedChange[]): LeadFields | undefined {
  let fields: LeadFields | undefined;
  for (const change of changes) {
    const op = OPS[change.kind];
    const parsed = op === 'patch' ? LeadPatch.parse(change.body) : LeadInput.parse(change.body);
    fields = normalizeLead(applyChange(fields, { task_id: `x.${change.seq}`, op, fields: parsed, received_at: '' }));
  }
  // lead_process shows the address's consent, always as a boolean: each chaos lead has an
  // address of its own, which is suppressed exactly when one of its changes opted out.
  return fields && { ...fields, unsubscribed: fields.unsubscribed === true };
}

const FIELD_KEYS = Object.keys(LeadInput.shape);

/** The differences between the fields a CRM contact holds and the expected ones (empty when equal). */
export function fieldDifferences(expected: LeadFields, actual: Record<string, unknown>): string[] {
  const withDefaults: Record<string, unknown> = { stage: 'new', ...expected };
  const out: string[] = [];
  for (const key of FIELD_KEYS) {
    const want = withDefaults[key];
    const have = actual[key];
    if (stableStringify(want ?? null) !== stableStringify(have ?? null)) {
      out.push(`${key}: expected ${JSON.stringify(want)}, CRM has ${JSON.stringify(have)}`);
    }
  }
  return out;
}

/** Every field where the contact keeps the lead whole; else its email, the one field every CRM matches on. */
function contentDifferences(expected: LeadFields, contact: ContactView): string[] {
  if (contact.lead) return fieldDifferences(expected, contact.lead);
  return expected.email === contact.email ? [] : [`email: expected ${JSON.stringify(expected.email)}, CRM has ${JSON.stringify(contact.email)}`];
}

export const welcomeMessageId = (leadId: string, domain: string) => `welcome.${leadId}@${domain}`;

/** Which window, if any, explains a second copy of an email first accepted at `firstAt`. */
export function windowFor(firstAt: number, faults: readonly FaultWindow[], windowMs: number): FaultWindow | undefined {
  return faults.find((f) => firstAt >= f.from - windowMs && firstAt <= f.to);
}

export function checkInvariants(input: InvariantInput): InvariantReport {
  const tally = newTally();
  const index = indexInput(input);
  for (const lead of input.leads) {
    // A lead whose create was never acknowledged has no known id; its email still finds its contact.
    const contact = lead.id !== undefined ? index.contacts.get(lead.id) : index.byEmail.get(lead.email)?.[0];
    countCrmDuplicates(tally, lead, contact, index.byEmail);
    if (lead.acked > 0 && lead.lastAckedSeq !== null && lead.id !== undefined) {
      checkContent(tally, lead, contact);
      checkWelcomeEmail(tally, lead, lead.id, input, index);
    }
    checkOptOut(tally, lead, index, input.optOutGraceMs ?? OPT_OUT_GRACE_MS);
  }
  const tasks = taskFigures(input.tasks, tally.problems);
  const dupEmailContacts = countSharedEmails(index.byEmail, tally.problems);

  return {
    leads: input.leads.length,
    acknowledged: input.leads.reduce((n, l) => n + l.acked, 0),
    unresolved: input.leads.filter((l) => l.unresolved).length,
    rejected: input.leads.filter((l) => l.rejected).length,
    lost: tally.lost,
    versionsBehind: tally.versionsBehind,
    doubleApplied: tally.doubleApplied,
    dupCrm: tally.dupCrm,
    crmReplays: tally.crmReplays,
    dupEmail: tally.dupEmail,
    window: tally.window,
    windowed: tally.windowed,
    missingEmail: tally.missingEmail,
    dupEmailContacts,
    optedOut: input.leads.filter((l) => l.optedOutAt !== undefined).length,
    mailedAfterOptOut: tally.mailedAfterOptOut,
    stuck: tasks.stuck,
    failedTasks: tasks.failedTasks,
    tasksChecked: input.tasks.length,
    tasksWithRetries: tasks.tasksWithRetries,
    maxAttempts: tasks.maxAttempts,
    problems: tally.problems,
  };
}

/** The per-lead counts, filled in lead by lead. */
type Tally = Pick<
  InvariantReport,
  'lost' | 'versionsBehind' | 'doubleApplied' | 'dupCrm' | 'crmReplays' | 'dupEmail' | 'window' | 'windowed' | 'missingEmail' | 'mailedAfterOptOut' | 'problems'
>;

function newTally(): Tally {
  return { lost: 0, versionsBehind: 0, doubleApplied: 0, dupCrm: 0, crmReplays: 0, dupEmail: 0, window: 0, windowed: [], missingEmail: 0, mailedAfterOptOut: 0, problems: [] };
}

interface InputIndex {
  contacts: Map<string, ContactView>;
  /** Contacts by lower-cased email. */
  byEmail: Map<string, ContactView[]>;
  /** Messages by lower-cased envelope recipient. */
  mailTo: Map<string, MailView[]>;
  /** Attempts of each task's email step. */
  emailAttempts: Map<string, number | undefined>;
  /** Copies of each Message-ID. */
  mail: Map<string, MailView[]>;
}

function indexInput(input: InvariantInput): InputIndex {
  const contacts = new Map(input.contacts.map((c) => [c.leadId, c]));
  const byEmail = new Map<string, ContactView[]>();
  for (const contact of input.contacts) {
    if (contact.email === '') continue;
    push(byEmail, contact.email.toLowerCase(), contact);
  }
  const emailAttempts = new Map(input.tasks.map((t) => [t.task_id, t.emailAttempts]));
  const mail = new Map<string, MailView[]>();
  const mailTo = new Map<string, MailView[]>();
  for (const message of input.messages) {
    push(mail, message.messageId, message);
    for (const to of new Set(message.to.map((t) => t.toLowerCase()))) push(mailTo, to, message);
  }
  return { contacts, byEmail, mailTo, emailAttempts, mail };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** dup_crm: more than one create of the lead's contact, or more than one contact with its email. */
function countCrmDuplicates(
  tally: Tally,
  lead: LeadRecord,
  contact: ContactView | undefined,
  byEmail: ReadonlyMap<string, ContactView[]>,
): void {
  if (contact) {
    tally.crmReplays += contact.duplicateKeys ?? 0;
    if (contact.creates !== undefined && contact.creates > 1) {
      tally.dupCrm += contact.creates - 1;
      tally.problems.push({ id: leadName(lead), problem: `CRM created the contact ${contact.creates} times` });
    }
  }
  const sameEmail = (byEmail.get(lead.email.toLowerCase()) ?? []).length;
  if (sameEmail > 1) {
    tally.dupCrm += sameEmail - 1;
    tally.problems.push({ id: leadName(lead), problem: `${sameEmail} CRM contacts for ${lead.email}` });
  }
}

const leadName = (lead: LeadRecord) => lead.id ?? lead.email;

/** dup_email_contacts: over every contact the CRM holds, each one beyond the first per email. */
function countSharedEmails(byEmail: ReadonlyMap<string, ContactView[]>, problems: LeadProblem[]): number {
  let shared = 0;
  for (const [email, contacts] of byEmail) {
    if (contacts.length < 2) continue;
    shared += contacts.length - 1;
    problems.push({ id: email, problem: `${contacts.length} CRM contacts share the email: ${contacts.map((c) => c.leadId).join(', ')}` });
  }
  return shared;
}

/** mailed_after_optout: messages to the address accepted after its opt-out's 202 plus the grace. */
function checkOptOut(tally: Tally, lead: LeadRecord, index: InputIndex, graceMs: number): void {
  if (lead.optedOutAt === undefined) return;
  const deadline = lead.optedOutAt + graceMs;
  const late = (index.mailTo.get(lead.email.toLowerCase()) ?? []).filter((m) => Date.parse(m.receivedAt) > deadline);
  if (late.length === 0) return;
  tally.mailedAfterOptOut += late.length;
  const first = late.reduce((a, b) => (Date.parse(b.receivedAt) < Date.parse(a.receivedAt) ? b : a));
  const after = Date.parse(first.receivedAt) - lead.optedOutAt;
  tally.problems.push({
    id: leadName(lead),
    problem: `${late.length} message(s) to ${lead.email} after its opt-out; the first (${first.messageId}) ${after} ms after the opt-out's 202`,
  });
}

/** lost / double_applied: the contact against the acknowledged writes. */
function checkContent(tally: Tally, lead: LeadRecord, contact: ContactView | undefined): void {
  const verdict = compareContact(lead, contact);
  if (verdict.kind === 'lost') {
    tally.lost += 1;
    if (contact && contact.version < lead.acked) tally.versionsBehind += 1;
    tally.problems.push({ id: leadName(lead), problem: `lost: ${verdict.why}` });
  } else if (verdict.kind === 'ahead') {
    tally.doubleApplied += 1;
    tally.problems.push({ id: leadName(lead), problem: `double-applied: ${verdict.why}` });
  }
}

/** missing_email, and a second copy: inside an at-least-once window, or a real duplicate. */
function checkWelcomeEmail(tally: Tally, lead: LeadRecord, leadId: string, input: InvariantInput, index: InputIndex): void {
  const copies = [...(index.mail.get(welcomeMessageId(leadId, input.messageIdDomain)) ?? [])].sort(
    (a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt),
  );
  if (copies.length === 0) {
    // Consent withdrawn before the welcome went out (it was still retrying): rightly never sent.
    if (lead.optedOutAt !== undefined) return;
    tally.missingEmail += 1;
    tally.problems.push({ id: leadId, problem: 'no welcome email' });
    return;
  }
  if (copies.length === 1) return;
  const firstAt = Date.parse(copies[0]!.receivedAt);
  const explained = windowFor(firstAt, input.faults, input.windowMs);
  // The create's task carries the email step; one attempt means two separate sends, never a retry.
  const attempts = lead.taskIds[0] === undefined ? undefined : index.emailAttempts.get(lead.taskIds[0]);
  if (explained && attempts !== 1) {
    tally.window += copies.length - 1;
    tally.windowed.push({ leadId, kind: explained.kind, gapMs: Math.max(0, explained.from - firstAt), copies: copies.length });
  } else {
    tally.dupEmail += copies.length - 1;
    const why = explained ? 'the email step ran once (not a retry)' : 'outside any fault window';
    tally.problems.push({ id: leadId, problem: `${copies.length} welcome emails, first at ${copies[0]!.receivedAt}, ${why}` });
  }
}

/** stuck: a task not in a terminal state; also failures and retries, for the report. */
function taskFigures(
  tasks: readonly TaskView[],
  problems: LeadProblem[],
): Pick<InvariantReport, 'stuck' | 'failedTasks' | 'tasksWithRetries' | 'maxAttempts'> {
  let stuck = 0;
  let failedTasks = 0;
  let tasksWithRetries = 0;
  let maxAttempts = 0;
  for (const task of tasks) {
    const known = (TASK_STATUSES as readonly string[]).includes(task.status);
    if (!known || !isTerminal(task.status as TaskStatus)) {
      stuck += 1;
      problems.push({ id: task.task_id, problem: `task ${task.status}` });
    } else if (task.status === 'failed') {
      failedTasks += 1;
    }
    if (task.attempts > 1) tasksWithRetries += 1;
    maxAttempts = Math.max(maxAttempts, task.attempts);
  }
  return { stuck, failedTasks, tasksWithRetries, maxAttempts };
}

type ContactVerdict = { kind: 'ok' } | { kind: 'lost'; why: string } | { kind: 'ahead'; why: string };

/** Does the contact hold the last acknowledged write (or, for an unresolved write, possibly that one)? */
export function compareContact(lead: LeadRecord, contact: ContactView | undefined): ContactVerdict {
  const seq = lead.lastAckedSeq ?? -1;
  if (!contact) return { kind: 'lost', why: `no CRM contact; ${lead.acked} change(s) acknowledged` };
  const acceptable = [{ version: lead.acked, seq }];
  if (lead.unresolved) acceptable.push({ version: lead.acked + 1, seq: lead.unresolved.seq });
  for (const candidate of acceptable) {
    if (contact.version !== candidate.version) continue;
    const expected = expectedFields(lead.planned.slice(0, candidate.seq + 1));
    const diff = expected ? contentDifferences(expected, contact) : ['nothing expected'];
    if (diff.length === 0) return { kind: 'ok' };
    return { kind: 'lost', why: `CRM version ${contact.version} holds other content: ${diff.join('; ')}` };
  }
  const newest = acceptable[acceptable.length - 1]!.version;
  if (contact.version > newest) {
    return { kind: 'ahead', why: `CRM at version ${contact.version}, only ${lead.acked} change(s) acknowledged` };
  }
  return { kind: 'lost', why: `CRM at version ${contact.version}, ${lead.acked} change(s) acknowledged` };
}
