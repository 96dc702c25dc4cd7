import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureType, isPermanentFailure, repairDelayMs, repairWait } from '../../src/workflows/lead-repair.js';
import { LeadEntity } from '../../src/workflows/lead-state.js';
import type { CarriedLeadState } from '../../src/temporal/lead-messages.js';

// What the workflow sees when an activity's attempts end: an ActivityFailure around the
// activity's ApplicationFailure (activities/failures.ts).
function activityFailed(type: string, nonRetryable: boolean): ActivityFailure {
  const cause = ApplicationFailure.create({ type, message: `${type} happened`, nonRetryable });
  return new ActivityFailure('activity failed', 'syncLeadToCrm', '1', nonRetryable ? RetryState.NON_RETRYABLE_FAILURE : RetryState.MAXIMUM_ATTEMPTS_REACHED, undefined, cause);
}

describe('permanent or transient', () => {
  it('reads the ApplicationFailure type under the ActivityFailure', () => {
    expect(failureType(activityFailed('CrmRejected', true))).toBe('CrmRejected');
    expect(failureType(ApplicationFailure.create({ type: 'EmailRejected' }))).toBe('EmailRejected');
    expect(failureType(new Error('plain'))).toBeUndefined();
    expect(failureType(undefined)).toBeUndefined();
  });

  it('treats the refusals (CRM 4xx and 409, SMTP 5xx) as permanent', () => {
    for (const type of ['CrmRejected', 'CrmConflict', 'EmailRejected']) expect(isPermanentFailure(activityFailed(type, true)), type).toBe(true);
  });

  it('treats outages, rate limits, timeouts and unknown failures as transient', () => {
    for (const type of ['CrmUnavailable', 'CrmRateLimited', 'EmailUnavailable']) expect(isPermanentFailure(activityFailed(type, false)), type).toBe(false);
    expect(isPermanentFailure(new ActivityFailure('timed out', 'syncLeadToCrm', '1', RetryState.TIMEOUT, undefined, undefined))).toBe(false);
    expect(isPermanentFailure(new Error('CrmRejected'))).toBe(false);
  });
});

describe('repair backoff', () => {
  it('starts at the resync interval and doubles up to 60 times it (1 min to 1 h)', () => {
    const minute = 60_000;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100, 10_000].map((n) => repairDelayMs(minute, n) / minute)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
  });

  const carried = (over: Partial<CarriedLeadState>): CarriedLeadState => ({
    fields: { email: 'ada@example.com' },
    version: 1,
    score: 0,
    crm: { status: 'synced', synced_version: 1 },
    welcome: 'sent',
    createdAt: '2026-12-07T00:00:00.000Z',
    updatedAt: '2026-12-07T00:00:00.000Z',
    tasks: [],
    pending: [],
    ...over,
  });

  it('arms no timer for dead letters, but a re-drive still finds them', () => {
    const crmRefused = new LeadEntity('l1', carried({ crm: { status: 'failed', synced_version: 0, last_error: 'CrmRejected: 422', permanent: true } }));
    expect([repairWait(crmRefused, 1000), crmRefused.needsRepair()]).toEqual([undefined, true]);
    const welcomeRefused = new LeadEntity('l2', carried({ welcome: 'failed', welcomePermanent: true }));
    expect([repairWait(welcomeRefused, 1000), welcomeRefused.needsRepair()]).toEqual([undefined, true]);
  });

  it('waits longer after each failed repair, and starts over once nothing transient is left', () => {
    const lead = new LeadEntity('l3', carried({ crm: { status: 'failed', synced_version: 0, last_error: 'CrmUnavailable: 503' }, failedRepairs: 3 }));
    expect(repairWait(lead, 1000)).toBe(8000);
    lead.crm = { status: 'synced', synced_version: 1 };
    expect(repairWait(lead, 1000)).toBeUndefined();
    expect(lead.failedRepairs).toBe(0);
    lead.crm = { status: 'failed', synced_version: 1, last_error: 'CrmUnavailable: 503' };
    expect(repairWait(lead, 1000)).toBe(1000);
  });

  it('carries the dead letter and the backoff across continue-as-new, and nothing new for a lead without them', () => {
    const lead = new LeadEntity('l4', carried({ welcome: 'failed', welcomePermanent: true, failedRepairs: 2 }));
    expect(lead.carry()).toMatchObject({ welcomePermanent: true, failedRepairs: 2 });
    const plain = new LeadEntity('l5', carried({}));
    expect(Object.keys(plain.carry())).not.toContain('welcomePermanent');
    expect(Object.keys(plain.carry())).not.toContain('failedRepairs');
  });
});
