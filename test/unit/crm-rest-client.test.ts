import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRestCrmClient, type CrmClient, type CrmUpsert } from '../../src/activities/crm/rest.js';
import { createSendLimiter, rateLimitedCrm } from '../../src/activities/crm/rate-limit.js';
import { startCrmSimulator, type CrmSimulator } from '../../tooling/simulators/crm-simulator.js';

// The REST adapter against the CRM simulator: which answers become which failures.

let sim: CrmSimulator;
let crm: CrmClient;

beforeEach(async () => {
  sim = await startCrmSimulator({ port: 0 });
  crm = createRestCrmClient({ baseUrl: sim.url, timeoutMs: 2_000 });
});

afterEach(async () => {
  await sim.close();
});

function upsert(externalId: string, version: number, email: string): CrmUpsert {
  return { externalId, version, lead: { email } as CrmUpsert['lead'], idempotencyKey: `${externalId}:${version}` };
}

/** The failure a call rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('REST CRM adapter: upsert', () => {
  it('creates, then reports a write whose email another contact holds as a permanent CrmConflict', async () => {
    expect(await crm.upsertContact(upsert('a', 1, 'ada@example.com'))).toEqual({ created: true, version: 1, stale: false });
    const conflict = await failureOf(crm.upsertContact(upsert('b', 1, 'ada@example.com')));
    expect(conflict).toMatchObject({ type: 'CrmConflict', nonRetryable: true });
    expect(conflict.message).toMatch(/^CRM answered 409: .*Existing ID: a/);
    expect(sim.contact('b')).toBeUndefined();
  });

  it('keeps other 4xx permanent and 5xx and 429 transient', async () => {
    sim.setFaults({ badRequestNext: 1 });
    expect(await failureOf(crm.upsertContact(upsert('a', 1, 'a@example.com')))).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
    sim.setFaults({ failNext: 1 });
    expect(await failureOf(crm.upsertContact(upsert('a', 1, 'a@example.com')))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    sim.setFaults({ rate429: 1, retryAfterSeconds: 3 });
    expect(await failureOf(crm.upsertContact(upsert('a', 1, 'a@example.com')))).toMatchObject({
      type: 'CrmRateLimited',
      nonRetryable: false,
      nextRetryDelay: 3_000,
    });
  });
});

describe('REST CRM adapter: delete', () => {
  it('deletes a contact, and answers deleted: false for one already gone', async () => {
    await crm.upsertContact(upsert('a', 1, 'ada@example.com'));
    expect(await crm.deleteContact('a')).toEqual({ deleted: true });
    expect(sim.contact('a')).toBeUndefined();
    expect(await crm.deleteContact('a')).toEqual({ deleted: false });
    expect(sim.deleted().map((d) => d.externalId)).toEqual(['a']);
    // The email is free again.
    expect(await crm.upsertContact(upsert('b', 1, 'ada@example.com'))).toMatchObject({ created: true });
  });

  it('makes 5xx, 429 and an unreachable CRM transient, other 4xx permanent', async () => {
    await crm.upsertContact(upsert('a', 1, 'ada@example.com'));
    sim.setFaults({ failNext: 1 });
    expect(await failureOf(crm.deleteContact('a'))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    sim.setFaults({ down: true });
    expect(await failureOf(crm.deleteContact('a'))).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    sim.clearFaults();
    sim.setFaults({ rate429: 1, retryAfterSeconds: 2 });
    expect(await failureOf(crm.deleteContact('a'))).toMatchObject({ type: 'CrmRateLimited', nonRetryable: false, nextRetryDelay: 2_000 });
    sim.clearFaults();
    sim.setFaults({ badRequestNext: 1 });
    expect(await failureOf(crm.deleteContact('a'))).toMatchObject({ type: 'CrmRejected', nonRetryable: true });
    expect(sim.contact('a')).toBeDefined();

    await sim.close();
    const unreachable = await failureOf(crm.deleteContact('a'));
    expect(unreachable).toMatchObject({ type: 'CrmUnavailable', nonRetryable: false });
    expect(unreachable.message).toMatch(/^CRM unreachable/);
    sim = await startCrmSimulator({ port: 0 });
  });

  it('goes through the rate limiter like a write, carrying its grant time', async () => {
    const limited = rateLimitedCrm(crm, createSendLimiter({ limit: 10, windowMs: 1_000 }));
    await limited.upsertContact(upsert('a', 1, 'ada@example.com'));
    expect(await limited.deleteContact('a')).toEqual({ deleted: true });
    expect(sim.stats()).toMatchObject({ deleted: 1, ungranted: 0 });
  });
});
