import { describe, expect, it } from 'vitest';
import type { LeadChange, LeadView } from '../../src/domain/lead.js';
import { foldLead, type ReadBase, type TailEvent } from '../../src/domain/lead-read-model.js';
import { queuedTask } from '../../src/domain/task.js';

const LEAD = 'lead1';
const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, s)).toISOString();
const change = (id: string, op: LeadChange['op'], fields: LeadChange['fields'], s: number): LeadChange => ({ task_id: id, op, fields, received_at: at(s) });
const signal = (c: LeadChange): TailEvent => ({ kind: 'change', at: c.received_at, change: c });

const create = change('t1', 'create', { email: 'ada@example.com', first_name: 'ada' }, 1);
const newLead: ReadBase = { lead: null, tasks: [], recent: [], pending: [create] };

/** The memo a batch that applied `create` would publish. */
const published: LeadView = {
  email: 'ada@example.com',
  first_name: 'Ada',
  id: LEAD,
  version: 1,
  score: 40,
  stage: 'new',
  crm: { status: 'synced', synced_version: 1 },
  created_at: at(1),
  updated_at: at(1),
};
const doneCreate = { ...queuedTask(LEAD, create, true), status: 'completed' as const, version: 1 };

describe('foldLead', () => {
  it('shows a lead no worker has touched yet: raw fields, version 1, a queued task with the welcome step', () => {
    const model = foldLead(LEAD, newLead, []);
    expect(model.lead).toMatchObject({ id: LEAD, email: 'ada@example.com', first_name: 'ada', version: 1, score: 0, stage: 'new', crm: { status: 'pending' } });
    const task = model.task('t1');
    expect(task).toMatchObject({ status: 'queued', version: null, type: 'lead_process' });
    expect(task !== 'summary' && task?.steps.map((s) => s.name)).toEqual(['lead_process', 'crm_update', 'email_send']);
  });

  it('follows a batch: processLead marker, then the CRM write and the email, step by step', () => {
    const tail: TailEvent[] = [
      { kind: 'batch_started', at: at(2), result: { fields: { email: 'ada@example.com', first_name: 'Ada' }, score: 40, attempt: 1 } },
      { kind: 'activity', at: at(2), step: 'crm_update', outcome: 'scheduled' },
      { kind: 'activity', at: at(2), step: 'email_send', outcome: 'scheduled' },
      { kind: 'activity', at: at(3), step: 'email_send', outcome: 'completed' },
    ];
    const model = foldLead(LEAD, newLead, tail);
    expect(model.lead).toMatchObject({ first_name: 'Ada', version: 1, score: 40, crm: { status: 'syncing', synced_version: 0 } });
    const task = model.task('t1');
    expect(task).toMatchObject({ status: 'running', version: 1 });
    expect(task !== 'summary' && task?.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'lead_process:completed',
      'crm_update:running',
      'email_send:completed',
    ]);
  });

  it('applies changes accepted during a batch after it, in arrival order, each with its own version', () => {
    const put = change('t2', 'replace', { email: 'ada@example.com', stage: 'contacted' }, 5);
    const patch = change('t3', 'patch', { last_name: 'Lovelace' }, 6);
    const later = change('t4', 'patch', { company: 'Acme' }, 7);
    // The memo of the create's batch lists t2 and t3 as accepted but not applied.
    const base: ReadBase = { lead: published, tasks: [doneCreate], recent: [['t1', 'completed', 1], ['t2', 'queued', null], ['t3', 'queued', null]], pending: [put, patch] };
    const tail: TailEvent[] = [
      { kind: 'batch_started', at: at(8), result: { fields: { email: 'ada@example.com', stage: 'contacted', last_name: 'Lovelace' }, score: 55 } },
      signal(later),
    ];
    const model = foldLead(LEAD, base, tail);
    expect(model.lead).toMatchObject({ version: 4, stage: 'contacted', last_name: 'Lovelace', company: 'Acme', score: 55, updated_at: at(7) });
    expect(model.lead).not.toHaveProperty('first_name'); // the replace dropped it
    expect(model.task('t2')).toMatchObject({ status: 'running', version: 2 });
    expect(model.task('t3')).toMatchObject({ status: 'running', version: 3 });
    expect(model.task('t4')).toMatchObject({ status: 'queued', version: null });
    expect(model.task('t1')).toMatchObject({ status: 'completed', version: 1 });
  });

  it('applies a change once when its signal is seen twice (a retried request with the same Idempotency-Key)', () => {
    const patch = change('t2', 'patch', { company: 'Acme' }, 2);
    const model = foldLead(LEAD, newLead, [signal(patch), signal(patch), signal(create)]);
    expect(model.lead).toMatchObject({ version: 2, company: 'Acme' });
  });

  it('gives the welcome step only to the change that creates the lead', () => {
    const duplicate = change('t2', 'create', { email: 'ada@example.com', company: 'Acme' }, 2);
    const model = foldLead(LEAD, newLead, [signal(duplicate)]);
    const task = model.task('t2');
    expect(task !== 'summary' && task?.steps.map((s) => s.name)).toEqual(['lead_process', 'crm_update']);
    const onExisting = foldLead(LEAD, { lead: published, tasks: [], recent: [], pending: [] }, [signal(duplicate)]);
    expect(onExisting.lead).toMatchObject({ version: 2, company: 'Acme', first_name: 'Ada' });
  });

  it('marks a step Temporal is retrying, with its attempt and last error', () => {
    const tail: TailEvent[] = [
      { kind: 'batch_started', at: at(2), result: { fields: { email: 'ada@example.com' }, score: 10 } },
      { kind: 'activity', at: at(2), step: 'crm_update', outcome: 'scheduled' },
    ];
    const model = foldLead(LEAD, newLead, tail, [{ step: 'crm_update', attempt: 3, lastError: 'CRM answered 503' }]);
    expect(model.task('t1')).toMatchObject({ status: 'retrying', attempts: 3, last_error: 'CRM answered 503' });
  });

  it('records a failed step with its error', () => {
    const tail: TailEvent[] = [
      { kind: 'batch_started', at: at(2), result: { fields: { email: 'ada@example.com' }, score: 10 } },
      { kind: 'activity', at: at(2), step: 'crm_update', outcome: 'scheduled' },
      { kind: 'activity', at: at(9), step: 'crm_update', outcome: 'failed', error: 'CrmRejected: bad phone' },
    ];
    const task = foldLead(LEAD, newLead, tail).task('t1');
    expect(task !== 'summary' && task?.steps.find((s) => s.name === 'crm_update')).toMatchObject({ status: 'failed', last_error: 'CrmRejected: bad phone', finished_at: at(9) });
  });

  it('says which tasks it knows only by status, and which not at all', () => {
    const base: ReadBase = { lead: published, tasks: [], recent: [['t1', 'completed', 1]], pending: [] };
    const model = foldLead(LEAD, base, []);
    expect(model.task('t1')).toBe('summary');
    expect(model.task('nope')).toBeUndefined();
  });

  it('ignores activities outside a batch (a repair of a failed CRM write)', () => {
    const base: ReadBase = { lead: { ...published, crm: { status: 'failed', synced_version: 0 } }, tasks: [], recent: [], pending: [] };
    const model = foldLead(LEAD, base, [{ kind: 'activity', at: at(3), step: 'crm_update', outcome: 'scheduled' }]);
    expect(model.lead).toMatchObject({ version: 1, crm: { status: 'failed' } });
  });
});
