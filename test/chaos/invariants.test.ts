import { describe, expect, it } from 'vitest';
import { planFaults } from '../../tooling/chaos/faults.js';
import {
  checkInvariants,
  OPT_OUT_GRACE_MS,
  compareContact,
  expectedFields,
  welcomeMessageId,
  type ContactView,
  type InvariantInput,
  type MailView,
} from '../../tooling/chaos/invariants.js';
import { planLeads, type LeadRecord } from '../../tooling/chaos/load.js';
import { replayCommand } from '../../tooling/chaos/options.js';
import { readFigures } from '../../tooling/chaos/report.js';
import { seededRandom } from '../../tooling/chaos/random.js';

const DOMAIN = 'leads.example.com';

/** A lead of the plan with its first `acked` changes acknowledged (and the id the create's 202 named, when acked). */
function lead(acked: number, updates = 3, seed = 1, optOutRate = 0): LeadRecord {
  const [record] = planLeads({ runTag: 't', leads: 1, updatesPerLead: updates, duplicateCreateRate: 0.3, optOutRate, random: seededRandom(seed) });
  return {
    ...record!,
    id: acked > 0 ? `lead${seed}aaaaaaaaaaaaaaa` : undefined,
    acked,
    lastAckedSeq: acked > 0 ? acked - 1 : null,
    taskIds: Array.from({ length: acked }, (_, i) => `task${i}`),
  };
}

/** The CRM contact the orchestrator should produce for a lead's first `changes` changes. */
function contactFor(l: LeadRecord, changes: number, patch: Partial<ContactView> = {}): ContactView {
  const fields = expectedFields(l.planned.slice(0, changes))!;
  const id = l.id ?? 'unknown-id';
  return {
    leadId: id,
    email: fields.email,
    version: changes,
    lead: { ...fields, stage: fields.stage ?? 'new', id, version: changes, score: 50 },
    creates: 1,
    duplicateKeys: 0,
    ...patch,
  };
}

const mailFor = (l: LeadRecord, at: string): MailView => ({ messageId: welcomeMessageId(l.id!, DOMAIN), receivedAt: at, to: [l.email] });

function input(partial: Partial<InvariantInput>): InvariantInput {
  return { leads: [], contacts: [], messages: [], tasks: [], faults: [], messageIdDomain: DOMAIN, windowMs: 5_000, ...partial };
}

describe('expected lead fields', () => {
  it('applies the acknowledged changes in order, the way the workflow does', () => {
    const l = lead(4);
    const kinds = l.planned.map((c) => c.kind);
    expect(kinds[0]).toBe('create');
    const fields = expectedFields(l.planned)!;
    expect(fields.custom).toEqual({ run: 't', seq: 3 });
    expect(fields.email).toBe(l.email);
  });

  it('a PUT drops what it does not repeat; a PATCH keeps it', () => {
    const l = lead(1);
    const base = { ...l.planned[0]!, seq: 0 };
    const put = { seq: 1, kind: 'replace' as const, method: 'PUT' as const, idempotencyKey: 'k1', body: { email: l.email, first_name: 'x' } };
    const patch = { seq: 2, kind: 'patch' as const, method: 'PATCH' as const, idempotencyKey: 'k2', body: { phone: '+1 (555) 12' } };
    const fields = expectedFields([base, put, patch])!;
    expect(fields).toEqual({ email: l.email, first_name: 'X', phone: '+155512', unsubscribed: false });
  });
});

describe('lost and double-applied writes', () => {
  it('accepts a contact at the last acknowledged version with its content', () => {
    const l = lead(4);
    expect(compareContact(l, contactFor(l, 4))).toEqual({ kind: 'ok' });
  });

  it('counts a missing contact, a contact behind, and one with other content as lost', () => {
    const l = lead(4);
    expect(compareContact(l, undefined).kind).toBe('lost');
    expect(compareContact(l, contactFor(l, 3)).kind).toBe('lost');
    // Version 4 but the create's content: the reordering the chaos suite found.
    const reordered = contactFor(l, 4, { lead: { ...contactFor(l, 1).lead, version: 4 } });
    const verdict = compareContact(l, reordered);
    expect(verdict.kind).toBe('lost');
    expect(verdict.kind === 'lost' && verdict.why).toMatch(/custom/);
  });

  it('flags a contact ahead of the acknowledged writes, unless an unresolved write explains it', () => {
    const l = lead(3);
    expect(compareContact(l, contactFor(l, 4)).kind).toBe('ahead');
    const unresolved = { ...l, unresolved: { seq: 3, reason: 'no answer' } };
    expect(compareContact(unresolved, contactFor(l, 4))).toEqual({ kind: 'ok' });
    expect(compareContact(unresolved, contactFor(l, 3))).toEqual({ kind: 'ok' });
  });

  it('compares a contact kept as properties (HubSpot) by version and email, and counts one behind', () => {
    const l = lead(4);
    const hubspot = (changes: number, email = expectedFields(l.planned.slice(0, changes))!.email): ContactView => ({ leadId: l.id!, email, version: changes });
    expect(compareContact(l, hubspot(4))).toEqual({ kind: 'ok' });
    const otherEmail = compareContact(l, hubspot(4, 'someone@else.example'));
    expect(otherEmail.kind === 'lost' && otherEmail.why).toMatch(/email: expected/);
    const report = checkInvariants(input({ leads: [l], contacts: [hubspot(3)], messages: [mailFor(l, '2026-01-01T00:00:00Z')] }));
    expect(report).toMatchObject({ lost: 1, versionsBehind: 1, dupCrm: 0, crmReplays: 0 });
  });

  it('sums the figures over leads', () => {
    const a = lead(4, 3, 1);
    const b = { ...lead(4, 3, 2), id: 'bbbbbbbbbbbbbbbbbbbb', email: 'b@x.example' };
    const report = checkInvariants(
      input({
        leads: [a, b],
        contacts: [contactFor(a, 4, { duplicateKeys: 2 }), contactFor(b, 2)],
        messages: [mailFor(a, '2026-01-01T00:00:00Z'), mailFor(b, '2026-01-01T00:00:00Z')],
      }),
    );
    expect(report).toMatchObject({ leads: 2, acknowledged: 8, lost: 1, doubleApplied: 0, crmReplays: 2, missingEmail: 0 });
  });

  it('counts two CRM contacts for one email, and extra creates, as dup_crm', () => {
    const l = lead(1);
    const twin = { ...contactFor(l, 1), leadId: 'another-id' };
    expect(checkInvariants(input({ leads: [l], contacts: [contactFor(l, 1, { creates: 2 }), twin] })).dupCrm).toBe(2);
  });
});

describe('welcome emails', () => {
  const kill = Date.parse('2026-01-01T00:00:10Z');

  it('puts a second copy first accepted just before a worker kill in the window', () => {
    const l = lead(1);
    const report = checkInvariants(
      input({
        leads: [l],
        contacts: [contactFor(l, 1)],
        messages: [mailFor(l, '2026-01-01T00:00:09.500Z'), mailFor(l, '2026-01-01T00:01:10Z')],
        faults: [{ kind: 'worker-kill', from: kill, to: kill }],
      }),
    );
    expect(report).toMatchObject({ dupEmail: 0, window: 1 });
    expect(report.windowed).toEqual([{ leadId: l.id, kind: 'worker-kill', gapMs: 500, copies: 2 }]);
  });

  it('counts a second copy as dup_email when the email step ran once, even next to a fault', () => {
    const l = lead(1);
    const report = checkInvariants(
      input({
        leads: [l],
        contacts: [contactFor(l, 1)],
        messages: [mailFor(l, '2026-01-01T00:00:09.500Z'), mailFor(l, '2026-01-01T00:00:09.600Z')],
        tasks: [{ task_id: l.taskIds[0]!, status: 'completed', attempts: 1, emailAttempts: 1 }],
        faults: [{ kind: 'worker-kill', from: kill, to: kill }],
      }),
    );
    expect(report).toMatchObject({ dupEmail: 1, window: 0 });
  });

  it('counts a second copy with no fault around it as dup_email', () => {
    const l = lead(1);
    const messages = [mailFor(l, '2026-01-01T00:00:01Z'), mailFor(l, '2026-01-01T00:00:02Z')];
    const faults = [{ kind: 'worker-kill' as const, from: kill, to: kill }];
    expect(checkInvariants(input({ leads: [l], contacts: [contactFor(l, 1)], messages, faults }))).toMatchObject({ dupEmail: 1, window: 0 });
  });

  it('explains copies accepted during a Temporal outage', () => {
    const l = lead(1);
    const messages = [mailFor(l, '2026-01-01T00:00:12Z'), mailFor(l, '2026-01-01T00:01:30Z')];
    const faults = [{ kind: 'server-outage' as const, from: kill, to: kill + 5_000 }];
    expect(checkInvariants(input({ leads: [l], contacts: [contactFor(l, 1)], messages, faults }))).toMatchObject({ dupEmail: 0, window: 1 });
  });

  it('counts a lead with no welcome email', () => {
    const l = lead(1);
    expect(checkInvariants(input({ leads: [l], contacts: [contactFor(l, 1)] })).missingEmail).toBe(1);
  });
});

describe('the plan', () => {
  it('knows no lead id before a create is acknowledged: ids are the API\'s, not derived from the email', () => {
    const leads = planLeads({ runTag: 't', leads: 3, updatesPerLead: 2, duplicateCreateRate: 0, random: seededRandom(1) });
    expect(leads.map((l) => l.id)).toEqual([undefined, undefined, undefined]);
  });

  it('ends a share of the leads with an opt-out, and leaves the plan as it was without one', () => {
    const plan = (optOutRate?: number) =>
      planLeads({ runTag: 't', leads: 20, updatesPerLead: 2, duplicateCreateRate: 0.2, optOutRate, random: seededRandom(5) });
    const all = plan(1);
    for (const l of all) {
      expect(l.planned).toHaveLength(4);
      expect(l.planned[3]).toMatchObject({ seq: 3, kind: 'opt-out', method: 'PATCH', body: { unsubscribed: true, custom: { run: 't', seq: 3 } } });
    }
    expect(expectedFields(all[0]!.planned)).toMatchObject({ unsubscribed: true, custom: { seq: 3 } });
    expect(plan(0)).toEqual(plan(undefined));
    const some = plan(0.5).filter((l) => l.planned.at(-1)!.kind === 'opt-out').length;
    expect(some).toBeGreaterThan(0);
    expect(some).toBeLessThan(20);
  });
});

describe('one contact per email', () => {
  it('counts every CRM contact beyond the first per email, whoever they belong to, ignoring case', () => {
    const l = lead(1);
    const other = (leadId: string, email = ''): ContactView => ({ ...contactFor(l, 1), leadId, email, lead: { email } });
    const report = checkInvariants(
      input({
        leads: [l],
        contacts: [
          contactFor(l, 1),
          other('x1', 'someone@else.example'),
          other('x2', 'SOMEONE@else.example'),
          other('x3', 'someone@else.example'),
          other('x4', 'alone@else.example'),
          other('x5'),
          other('x6'),
        ],
        messages: [mailFor(l, '2026-01-01T00:00:00Z')],
      }),
    );
    expect(report).toMatchObject({ dupEmailContacts: 2, dupCrm: 0, lost: 0 });
    expect(report.problems).toEqual([{ id: 'someone@else.example', problem: '3 CRM contacts share the email: x1, x2, x3' }]);
  });

  it('finds the contact of a lead whose create was never acknowledged by its email', () => {
    const l = { ...lead(0), unresolved: { seq: 0, reason: 'no answer' } };
    const landed = { ...contactFor(l, 1, { creates: 2 }), leadId: 'random-id', email: l.email.toUpperCase(), lead: { email: l.email.toUpperCase() } };
    const report = checkInvariants(input({ leads: [l], contacts: [landed] }));
    expect(report).toMatchObject({ dupCrm: 1, dupEmailContacts: 0, lost: 0, missingEmail: 0 });
    expect(report.problems).toEqual([{ id: l.email, problem: 'CRM created the contact 2 times' }]);
  });
});

describe('no mail after an opt-out', () => {
  const optedOutAt = Date.parse('2026-01-01T00:01:00Z');
  const at = (ms: number) => new Date(optedOutAt + ms).toISOString();
  const message = (to: string, ms: number, messageId = `m${ms}@x`): MailView => ({ messageId, receivedAt: at(ms), to: [to] });

  it('counts messages to the address accepted later than the opt-out\'s 202 plus the grace', () => {
    const l = { ...lead(5, 3, 1, 1), optedOutAt };
    const report = checkInvariants(
      input({
        leads: [l],
        contacts: [contactFor(l, 5)],
        messages: [
          mailFor(l, at(-50_000)),
          message(l.email, 500),
          message(l.email, OPT_OUT_GRACE_MS),
          message(l.email.toUpperCase(), OPT_OUT_GRACE_MS + 1, 'late1@x'),
          message(l.email, 60_000, 'late2@x'),
          message('someone@else.example', 60_000),
        ],
      }),
    );
    expect(report).toMatchObject({ optedOut: 1, mailedAfterOptOut: 2, lost: 0, missingEmail: 0 });
    expect(report.problems).toEqual([{ id: l.id, problem: `2 message(s) to ${l.email} after its opt-out; the first (late1@x) ${OPT_OUT_GRACE_MS + 1} ms after the opt-out's 202` }]);
  });

  it('takes the grace from the input, and leaves leads that did not opt out alone', () => {
    const out = { ...lead(5, 3, 1, 1), optedOutAt };
    const stayed = { ...lead(4, 3, 2), email: 'stayed@x.example' };
    const messages = [mailFor(out, at(-50_000)), message(out.email, 500), message(stayed.email, 60_000)];
    const report = (optOutGraceMs?: number) => checkInvariants(input({ leads: [out, stayed], messages, optOutGraceMs }));
    expect(report(undefined)).toMatchObject({ optedOut: 1, mailedAfterOptOut: 0 });
    expect(report(0)).toMatchObject({ optedOut: 1, mailedAfterOptOut: 1 });
  });
});

describe('tasks', () => {
  it('counts non-terminal and unknown tasks as stuck, failed ones apart, and retries', () => {
    const report = checkInvariants(
      input({
        tasks: [
          { task_id: 'a', status: 'completed', attempts: 1 },
          { task_id: 'b', status: 'failed', attempts: 8 },
          { task_id: 'c', status: 'retrying', attempts: 3 },
          { task_id: 'd', status: 'unknown', attempts: 0 },
        ],
      }),
    );
    expect(report).toMatchObject({ stuck: 2, failedTasks: 1, tasksWithRetries: 2, maxAttempts: 8, tasksChecked: 4 });
  });
});

describe('fault plan', () => {
  const options = { counts: { workerKills: 5, serverRestarts: 2, apiSigterms: 1 }, from: 0.1, to: 0.8, serverDowntimeMs: 3_000, longOutageMs: 75_000 };

  it('draws the asked number of faults, spread within the window, reproducibly', () => {
    const plan = planFaults(seededRandom(42), options);
    expect(plan.filter((f) => f.kind === 'worker-kill')).toHaveLength(5);
    expect(plan.filter((f) => f.kind === 'server-restart')).toHaveLength(2);
    expect(plan.filter((f) => f.kind === 'api-sigterm')).toHaveLength(1);
    for (const f of plan) {
      expect(f.at).toBeGreaterThanOrEqual(0.1);
      expect(f.at).toBeLessThanOrEqual(0.8);
    }
    expect(plan.map((f) => f.at)).toEqual([...plan.map((f) => f.at)].sort((a, b) => a - b));
    expect(planFaults(seededRandom(42), options)).toEqual(plan);
  });

  it('makes the first restart the long outage and the first kill a mid-activity one', () => {
    const plan = planFaults(seededRandom(7), options);
    expect(plan.filter((f) => f.kind === 'server-restart').map((f) => f.downtimeMs)).toEqual([75_000, 3_000]);
    expect(plan.filter((f) => f.kind === 'worker-kill').map((f) => f.midActivity)).toEqual([true, false, false, false, false]);
  });
});

describe('reads right after a 202', () => {
  it('counts 404s as denials and lead reads behind the acknowledged version, apart those the read model answered', () => {
    const figures = readFigures([
      { kind: 'task', id: 't1', outcome: '200', at: 1 },
      { kind: 'task', id: 't2', outcome: '404:task_not_found', at: 2 },
      { kind: 'task', id: 't3', outcome: '503:temporal_unavailable', at: 3 },
      { kind: 'lead', id: 'l1', outcome: '200', at: 4, version: 2, ackedVersion: 2 },
      { kind: 'lead', id: 'l1', outcome: '200', at: 5, version: 2, ackedVersion: 3, source: 'history' },
      { kind: 'lead', id: 'l2', outcome: '404:lead_not_found', at: 6 },
      { kind: 'lead', id: 'l3', outcome: '200', at: 7, version: 1, ackedVersion: 2, source: 'events' },
    ]);
    expect(figures).toEqual({
      checked: 7,
      task: { '200': 1, '404:task_not_found': 1, '503:temporal_unavailable': 1 },
      lead: { '200': 3, '404:lead_not_found': 1 },
      denied: 2,
      behind: 2,
      behindEvents: 1,
    });
  });
});

describe('replay command', () => {
  it('repeats the flags with the failed run\'s seed, without its own output files', () => {
    const argv = ['--profile', 'ci', '--seed', '12', '--out', '/tmp/r.json', '--data-dir', '/tmp/d', '--keep-data', '--worker-processes', '2'];
    expect(replayCommand(argv, 414756)).toBe('npm run chaos -- --profile ci --worker-processes 2 --seed 414756');
  });
});
