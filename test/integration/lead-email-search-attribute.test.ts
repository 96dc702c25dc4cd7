import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSettingsFromConfig } from '../../src/api/compose.js';
import { leadIdForEmail, leadWorkflowId, newTaskId } from '../../src/domain/ids.js';
import type { LeadWorkflowInput } from '../../src/temporal/lead-messages.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../../src/temporal/search-attributes.js';
import { leadWorkflow } from '../../src/workflows/index.js';
import { addressBookFromConfig } from '../../src/identity/address-book.js';
import { migrateEmailClaims } from '../../src/identity/migrate-claims.js';
import type { CarriedLeadState } from '../../src/temporal/lead-messages.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Generation 4: the email is no search attribute. A lead started by the API has none; a
// lead started at generation 3 (with LeadEmail, as the API used to) drops it when it
// continues as new into generation 4. Both are found by email, the older one once the
// email-claim migration gave it its claim.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ CONTINUE_AS_NEW_AFTER_EVENTS: '100' });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const emailAttribute = async (workflowId: string) =>
  (await h.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(SA.email);

describe('the email as a search attribute', () => {
  it('is not set on a lead the API starts', async () => {
    const email = uniqueEmail('nosa');
    const created = await call(h.app, 'POST', '/api/leads', { email, stage: 'contacted' });
    await eventually(async () => ((await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`)).body.status === 'completed' ? true : undefined), {
      what: 'the create',
    });
    expect(await emailAttribute(leadWorkflowId(created.body.id))).toBeUndefined();
    const description = await h.client.workflow.getHandle(leadWorkflowId(created.body.id)).describe();
    expect(description.typedSearchAttributes.get(SA.stage)).toBe('contacted');
  });

  it('is removed when a generation-3 lead continues as new, and the lead is still listed by email', async () => {
    const email = uniqueEmail('gen3');
    const id = leadIdForEmail(email);
    const workflowId = leadWorkflowId(id);
    const input: LeadWorkflowInput = {
      leadId: id,
      settings: workflowSettingsFromConfig(h.config),
      initial: { task_id: newTaskId(id, 'create'), op: 'create', fields: { email }, received_at: new Date().toISOString() },
      generation: 3,
    };
    // As the API started leads before generation 4.
    await h.client.workflow.start(leadWorkflow, {
      workflowId,
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      args: [input],
      memo: { created_task_id: input.initial!.task_id },
      typedSearchAttributes: [
        { key: SA.email, value: email },
        { key: SA.stage, value: 'new' },
      ],
    });
    expect(await emailAttribute(workflowId)).toBe(email);
    const firstRunId = (await h.client.workflow.getHandle(workflowId).describe()).runId;

    let last = '';
    for (let i = 1; i <= 25; i++) {
      const res = await call(h.app, 'PATCH', `/api/leads/${id}`, { custom: { step: i } });
      expect(res.status).toBe(202);
      last = res.body.task_id;
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(async () => ((await call(h.app, 'GET', `/api/tasks/${last}`)).body.status === 'completed' ? true : undefined), {
      what: 'the last change',
    });
    const description = await h.client.workflow.getHandle(workflowId).describe();
    expect(description.runId, 'the lead continued as new').not.toBe(firstRunId);
    // The continued run starts with the lead's memo as it was published, not the chain's first
    // (which is all continue-as-new copies by itself): visibility shows the lead as it is.
    expect(description.memo).toMatchObject({ lead: { id, email, version: 26 } });
    // The new run removes it in its first workflow task, which may still be on its way.
    await eventually(async () => ((await emailAttribute(workflowId)) === undefined ? true : undefined), {
      what: 'LeadEmail removed from the continued run',
      timeoutMs: 10_000,
    });

    // Started before claims existed, it holds none until the worker's migration claims its email.
    expect((await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`)).body.items).toEqual([]);
    const addresses = addressBookFromConfig(h.config, h.client);
    // Visibility lags the lead's continue-as-new: the migration is asked again until it saw the lead.
    await eventually(
      async () => {
        const migration = await migrateEmailClaims(h.client, { taskQueue: h.config.TEMPORAL_TASK_QUEUE, addresses }, { force: true });
        expect(migration).toMatchObject({ conflicts: [] });
        const found = await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`);
        return found.body.items?.[0]?.id === id ? true : undefined;
      },
      { what: 'the migration to claim the older lead its email' },
    );
    expect(await migrateEmailClaims(h.client, { taskQueue: h.config.TEMPORAL_TASK_QUEUE, addresses })).toBe('done before');
    // Now one lead per email holds for it too: a POST of its email lands on it.
    expect((await call(h.app, 'POST', '/api/leads', { email })).body).toMatchObject({ id, deduplicated: true });

    const listed = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`);
      return res.body.items?.[0]?.version === 27 ? res.body.items : undefined;
    }, { what: 'the lead listed by email' });
    expect(listed).toEqual([expect.objectContaining({ id, email, custom: { step: 25 } })]);
  });

  it('is read from the start event of a run whose memo is still the chain\'s first one', async () => {
    // A run continued as new before generation 5 started with the memo of its chain's first run,
    // and shows it until its first batch: here, an email the lead left long ago.
    const left = uniqueEmail('left');
    const email = uniqueEmail('carried');
    const id = leadIdForEmail(left);
    const at = new Date().toISOString();
    const carried: CarriedLeadState = {
      fields: { email, stage: 'new' },
      version: 4,
      score: 10,
      crm: { status: 'synced', synced_version: 4 },
      welcome: 'sent',
      createdAt: at,
      updatedAt: at,
      tasks: [],
      pending: [],
    };
    await h.client.workflow.start(leadWorkflow, {
      workflowId: leadWorkflowId(id),
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      args: [{ leadId: id, settings: workflowSettingsFromConfig(h.config), generation: 4, carried }],
      memo: { created_task_id: newTaskId(id, 'create'), email: left },
    });
    const addresses = addressBookFromConfig(h.config, h.client);
    await eventually(
      async () => {
        await migrateEmailClaims(h.client, { taskQueue: h.config.TEMPORAL_TASK_QUEUE, addresses }, { force: true });
        return (await addresses.holder(email))?.leadId === id ? true : undefined;
      },
      { what: 'the migration to claim the carried email' },
    );
    expect(await addresses.holder(left), 'the email the lead left stays free').toBeNull();
  });
});
