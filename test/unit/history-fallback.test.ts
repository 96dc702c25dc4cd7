import { describe, expect, it } from 'vitest';
import { leadOfRun } from '../../src/leads/history-fallback.js';
import type { LeadChange, LeadView } from '../../src/domain/lead.js';
import { queuedTask } from '../../src/domain/task.js';
import type { LeadWorkflowInput } from '../../src/temporal/lead-messages.js';

// The history fallback's fold: a run's accepted changes onto the state it started from.

const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 9, 0, s)).toISOString();
const change = (id: string, op: LeadChange['op'], fields: LeadChange['fields'], s: number): LeadChange => ({ task_id: id, op, fields, received_at: at(s) });
const settings = {} as LeadWorkflowInput['settings'];

const create = change('lead1.a', 'create', { email: 'ada@example.com', first_name: 'Ada' }, 1);
const rename = change('lead1.b', 'patch', { first_name: 'Augusta' }, 2);
const retitle = change('lead1.c', 'patch', { company: 'Analytical Engines' }, 3);

/** A run continued as new after `create` was applied (version 1), with `rename` handed over unapplied. */
function continuedRun(): LeadWorkflowInput {
  const applied = { ...queuedTask('lead1', create, true), status: 'completed' as const, version: 1 };
  return {
    leadId: 'lead1',
    settings,
    carried: {
      fields: { email: 'ada@example.com', first_name: 'Ada' },
      version: 1,
      score: 40,
      crm: { status: 'synced', synced_version: 1 },
      welcome: 'sent',
      createdAt: at(1),
      updatedAt: at(1),
      tasks: [applied, queuedTask('lead1', rename, false)],
      pending: [rename],
    },
  };
}

describe('leadOfRun', () => {
  it('applies a new run\'s changes from its initial one', () => {
    const lead = leadOfRun('lead1', { leadId: 'lead1', settings, initial: create }, [create, rename], undefined);
    expect(lead).toMatchObject({ id: 'lead1', first_name: 'Augusta', version: 2, score: 0, stage: 'new', created_at: at(1), updated_at: at(2) });
    expect(lead?.crm).toEqual({ status: 'pending', synced_version: 0 });
  });

  it('applies the changes a continued run was handed unapplied, and those signalled since, each once', () => {
    // acceptedChanges lists the carried pending changes first, then the run's signals.
    const lead = leadOfRun('lead1', continuedRun(), [rename, retitle, retitle], undefined);
    expect(lead).toMatchObject({ first_name: 'Augusta', company: 'Analytical Engines', version: 3, created_at: at(1), updated_at: at(3), score: 40 });
    expect(lead?.crm).toEqual({ status: 'synced', synced_version: 1 });
  });

  it('does not apply again a change the carried state already holds', () => {
    const lead = leadOfRun('lead1', continuedRun(), [create], undefined);
    expect(lead).toMatchObject({ first_name: 'Ada', version: 1 });
  });

  it('takes score and CRM state from the last processed memo', () => {
    const processed = { score: 75, crm: { status: 'synced', synced_version: 2 } } as LeadView;
    expect(leadOfRun('lead1', continuedRun(), [rename], processed)).toMatchObject({ score: 75, crm: { status: 'synced', synced_version: 2 } });
  });

  it('is undefined for a run that holds no lead yet', () => {
    expect(leadOfRun('lead1', { leadId: 'lead1', settings }, [], undefined)).toBeUndefined();
  });
});
