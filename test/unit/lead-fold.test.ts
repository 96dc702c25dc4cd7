import { describe, expect, it } from 'vitest';
import type { LeadChange } from '../../src/domain/lead.js';
import { acceptChanges, applyChanges, applyLeadChange, isNewChange, NO_LEAD, type LeadState } from '../../src/domain/lead-fold.js';

const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, s)).toISOString();
const change = (id: string, op: LeadChange['op'], fields: LeadChange['fields'], s: number): LeadChange => ({ task_id: id, op, fields, received_at: at(s) });

const create = change('t1', 'create', { email: 'ada@example.com', first_name: 'Ada', company: 'Acme' }, 1);

describe('applyChanges', () => {
  it('leaves a lead no change reached without fields, at version 0', () => {
    expect(applyChanges(NO_LEAD, [])).toEqual({ fields: undefined, version: 0, createdAt: '', updatedAt: '' });
  });

  it('applies changes in arrival order: each bumps the version; created_at is the first change, updated_at the last', () => {
    const rename = change('t2', 'patch', { first_name: 'Augusta' }, 2);
    const again = change('t3', 'patch', { first_name: 'Ada' }, 3);
    expect(applyChanges(NO_LEAD, [create, rename, again])).toEqual({
      fields: { email: 'ada@example.com', first_name: 'Ada', company: 'Acme' },
      version: 3,
      createdAt: at(1),
      updatedAt: at(3),
    });
    expect(applyChanges(NO_LEAD, [create, again, rename]).fields?.first_name).toBe('Augusta');
  });

  it('deletes a field a patch sets to null, and keeps the fields a patch leaves out', () => {
    const clear = change('t2', 'patch', { company: null, last_name: 'Lovelace' }, 2);
    const lead = applyChanges(NO_LEAD, [create, clear]);
    expect(lead.fields).toEqual({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' });
    expect(lead.fields).not.toHaveProperty('company');
  });

  it('replaces every field on a replace; merges a second create like a patch', () => {
    const replace = change('t2', 'replace', { email: 'ada@example.com', stage: 'contacted' }, 2);
    expect(applyChanges(NO_LEAD, [create, replace]).fields).toEqual({ email: 'ada@example.com', stage: 'contacted' });
    const duplicate = change('t3', 'create', { email: 'ada@example.com', phone: '+1 555' }, 3);
    expect(applyChanges(NO_LEAD, [create, duplicate]).fields).toEqual({ ...create.fields, phone: '+1 555' });
  });

  it('continues from a carried state: created_at stays, the version counts on', () => {
    const carried: LeadState = { fields: { email: 'ada@example.com' }, version: 7, createdAt: at(0), updatedAt: at(1) };
    expect(applyLeadChange(carried, change('t8', 'patch', { stage: 'qualified' }, 9))).toEqual({
      fields: { email: 'ada@example.com', stage: 'qualified' },
      version: 8,
      createdAt: at(0),
      updatedAt: at(9),
    });
  });

  it('does not touch the state it starts from', () => {
    const start: LeadState = { fields: { email: 'ada@example.com', company: 'Acme' }, version: 1, createdAt: at(1), updatedAt: at(1) };
    const copy = structuredClone(start);
    applyChanges(start, [change('t2', 'patch', { company: null }, 2)]);
    expect(start).toEqual(copy);
  });
});

describe('acceptChanges', () => {
  it('takes a task id once (a retried request with the same Idempotency-Key), keeping arrival order', () => {
    const patch = change('t2', 'patch', { company: 'Initech' }, 2);
    const retried = { ...patch, received_at: at(4), fields: { company: 'other' } };
    const accepted = acceptChanges(new Set(), [create, patch, retried, change('t3', 'patch', { phone: '1' }, 3)]);
    expect(accepted.map((c) => c.task_id)).toEqual(['t1', 't2', 't3']);
    expect(accepted[1]).toBe(patch); // the first arrival wins
    expect(applyChanges(NO_LEAD, accepted)).toMatchObject({ version: 3, fields: { company: 'Initech' } });
  });

  it('skips task ids the lead has already seen', () => {
    const seen = new Map([['t1', 'applied in an earlier run']]);
    expect(isNewChange(seen, create)).toBe(false);
    expect(acceptChanges(seen, [create, change('t2', 'patch', { phone: '1' }, 2)]).map((c) => c.task_id)).toEqual(['t2']);
  });
});
