import { describe, expect, it } from 'vitest';
import { crmPatchOf } from '../../src/domain/apply-change.js';
import { applyLeadChange, type LeadState } from '../../src/domain/lead-fold.js';
import type { LeadChange } from '../../src/domain/lead.js';

const lead: LeadState = {
  fields: { email: 'ada@example.com', stage: 'contacted', company: 'Acme', custom: { plan: 'pro' } },
  version: 4,
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
};
const fromCrm = (fields: LeadChange['fields']): LeadChange => ({
  task_id: 't',
  op: 'patch',
  fields,
  received_at: '2026-12-07T10:00:00.000Z',
  source: 'crm',
});

describe('a change made in the CRM', () => {
  it('changes the fields it sets to new values and merges custom fields', () => {
    const next = applyLeadChange(lead, fromCrm({ stage: 'qualified', company: 'Acme', custom: { crm_owner: '42' } }));
    expect(next.version).toBe(5);
    expect(next.fields).toEqual({ email: 'ada@example.com', stage: 'qualified', company: 'Acme', custom: { plan: 'pro', crm_owner: '42' } });
  });

  it('makes no version when the lead shows it already: the CRM echoing the service\'s own write', () => {
    const echo = fromCrm({ stage: 'contacted', company: 'Acme', custom: { plan: 'pro' } });
    expect(crmPatchOf(lead.fields, echo)).toEqual({});
    expect(applyLeadChange(lead, echo)).toBe(lead);
  });

  it('never changes the email, the consent, or clears a field', () => {
    const change = fromCrm({ email: 'other@example.com', unsubscribed: false, company: null, stage: 'customer' } as LeadChange['fields']);
    expect(crmPatchOf(lead.fields, change)).toEqual({ stage: 'customer' });
    const next = applyLeadChange({ ...lead, fields: { ...lead.fields!, unsubscribed: true } }, change);
    expect(next.fields).toMatchObject({ email: 'ada@example.com', unsubscribed: true, company: 'Acme', stage: 'customer' });
  });
});
