import { describe, expect, it } from 'vitest';
import { checkDrain, markerOf, welcomeLeadId, WriteLedger, type CrmContactView } from '../../bench/drain.js';

const A = 'aaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbb';

const contact = (externalId: string, version: number, rev: number): CrmContactView => ({
  externalId,
  version,
  lead: { email: 'x@example.com', custom: { bench_rev: rev } },
});

/** The email of the lead the API names `id` (ids are the API's, so the ledger keys leads by email). */
const emailOf = (id: string) => `${id}@bench.example.com`;

function ledgerOf(...ops: Array<[lead: string, create: boolean, acked: boolean]>): WriteLedger {
  const ledger = new WriteLedger();
  for (const [lead, create, acked] of ops) {
    const marker = ledger.attempt(emailOf(lead), create);
    if (acked) ledger.ack(emailOf(lead), marker, create, create ? lead : undefined);
  }
  return ledger;
}

describe('write ledger', () => {
  it('numbers writes per lead, counts acknowledged creates, and takes the lead id from the create\'s answer', () => {
    const ledger = new WriteLedger();
    expect(ledger.attempt('a@x.example', true)).toBe(1);
    expect(ledger.records()[0]!.leadId).toBeUndefined();
    ledger.ack('a@x.example', 1, true, A);
    expect(ledger.attempt('a@x.example', false)).toBe(2);
    expect(ledger.attempt('b@x.example', true)).toBe(1);
    expect(ledger.ackedCreates).toBe(1);
    expect(ledger.ackedWrites).toBe(1);
    expect(ledger.records().find((r) => r.leadId === A)).toMatchObject({ email: 'a@x.example', attempted: 2, acked: 1, lastAckedMarker: 1, createAcked: true });
    expect(ledger.records().find((r) => r.email === 'b@x.example')?.leadId).toBeUndefined();
  });

  it('merges records from other processes', () => {
    const mine = ledgerOf([A, true, true]);
    const theirs = ledgerOf([B, true, true], [B, false, true]);
    mine.merge(theirs.records());
    expect(mine.size).toBe(2);
    expect(mine.records().map((r) => r.leadId)).toEqual([A, B]);
    expect(mine.ackedCreates).toBe(2);
    expect(mine.ackedWrites).toBe(3);
  });
});

describe('drain check', () => {
  const welcomes = (...ids: string[]) => {
    const m = new Map<string, number>();
    for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  };

  it('passes when every acknowledged write arrived with one welcome email per lead', () => {
    const ledger = ledgerOf([A, true, true], [A, false, true], [B, true, true]);
    const v = checkDrain(ledger.records(), new Map([[A, contact(A, 2, 2)], [B, contact(B, 1, 1)]]), welcomes(A, B));
    expect(v).toMatchObject({ ok: true, leadsChecked: 2, writesChecked: 3 });
  });

  it('finds missing contacts, versions behind and missing or duplicate emails', () => {
    const ledger = ledgerOf([A, true, true], [A, false, true], [B, true, true]);
    const v = checkDrain(ledger.records(), new Map([[A, contact(A, 1, 1)]]), welcomes(A, A));
    expect(v).toMatchObject({ ok: false, missingContacts: 1, behind: 1, missingEmails: 1, duplicateEmails: 1 });
    expect(v.examples.length).toBeGreaterThan(0);
  });

  it('finds a CRM holding an older write at the latest version (changes applied out of order)', () => {
    const ledger = ledgerOf([A, true, true], [A, false, true]);
    const v = checkDrain(ledger.records(), new Map([[A, contact(A, 2, 1)]]), welcomes(A));
    expect(v).toMatchObject({ ok: false, staleContent: 1 });
  });

  it('accepts an unacknowledged write that was applied anyway, but not more writes than were sent', () => {
    const ledger = ledgerOf([A, true, true], [A, false, false]);
    expect(checkDrain(ledger.records(), new Map([[A, contact(A, 2, 2)]]), welcomes(A)).ok).toBe(true);
    expect(checkDrain(ledger.records(), new Map([[A, contact(A, 1, 1)]]), welcomes(A)).ok).toBe(true);
    expect(checkDrain(ledger.records(), new Map([[A, contact(A, 3, 2)]]), welcomes(A))).toMatchObject({ ok: false, ahead: 1 });
  });

  it('does not require anything of a lead whose create was never acknowledged', () => {
    const ledger = ledgerOf([A, true, false]);
    expect(checkDrain(ledger.records(), new Map(), new Map()).ok).toBe(true);
    expect(checkDrain(ledger.records(), new Map([[A, contact(A, 1, 1)]]), welcomes(A)).ok).toBe(true);
  });

  it('names a lead no answer identified by its email', () => {
    const ledger = new WriteLedger();
    ledger.ack('lost@x.example', ledger.attempt('lost@x.example', false), false);
    expect(checkDrain(ledger.records(), new Map(), new Map())).toMatchObject({
      ok: false,
      missingContacts: 1,
      examples: [{ leadId: 'lost@x.example', problem: 'not in the CRM (1 acknowledged writes)' }],
    });
  });

  it('reads markers and welcome Message-IDs', () => {
    expect(markerOf({ custom: { bench_rev: 3 } })).toBe(3);
    expect(markerOf({})).toBeUndefined();
    expect(welcomeLeadId(`welcome.${A}@leads.example.com`)).toBe(A);
    expect(welcomeLeadId(`handoff-intro.${A}@leads.example.com`)).toBeUndefined();
  });
});
