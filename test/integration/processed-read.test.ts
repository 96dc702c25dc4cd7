import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createLeadGateway } from '../../src/activities/lead-gateway.js';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { leadQuery, processedLeadQuery } from '../../src/temporal/lead-messages.js';
import { activityDepsFromConfig, automationDepsFromConfig, workflowCodeOptions } from '../../worker/workers.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// Found by the long chaos run: an automation's crm_update step read the lead while the
// lead workflow had applied a change but not yet normalized it, and wrote that raw
// content to the CRM under the new version. The CRM keeps the first write of a version,
// so the lead's own normalized write of it was dropped as stale. Automations now read the
// lead as of its last processed version; this test holds lead_process open to look
// inside that window.

let h: Harness;
let connection: NativeConnection;
let workers: Worker[] = [];
let running: Promise<unknown>;
let release: (() => void) | undefined;
let held = 0;

beforeAll(async () => {
  h = await startHarness();
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const deps = activityDepsFromConfig(h.config);
  const real = createActivities({ ...deps, automations: automationDepsFromConfig(h.config, connection) });
  const common = { connection, namespace: h.config.TEMPORAL_NAMESPACE, shutdownGraceTime: '1s' } as const;
  workers = [
    await Worker.create({
      ...common,
      taskQueue: h.config.TEMPORAL_TASK_QUEUE,
      ...workflowCodeOptions(),
      activities: {
        ...real,
        // Held open while a test has set `release`, so the lead sits between applying a
        // change and normalizing it.
        async processLead(input: Parameters<typeof real.processLead>[0]) {
          if (release === undefined) return real.processLead(input);
          held += 1;
          await new Promise<void>((resolve) => {
            const previous = release!;
            release = () => {
              previous();
              resolve();
            };
          });
          return real.processLead(input);
        },
      },
    }),
    await Worker.create({
      ...common,
      taskQueue: h.config.TEMPORAL_CRM_TASK_QUEUE,
      activities: { syncLeadToCrm: real.syncLeadToCrm },
    }),
  ];
  running = Promise.all(workers.map((w) => w.run()));
});

afterAll(async () => {
  release?.();
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running;
  await connection?.close();
  await h?.close();
});

describe('reading a lead while its latest change is being processed', () => {
  it('shows automations the last processed version, never raw content under a new version', async () => {
    const email = uniqueEmail('processed-read');
    const created = await call(h.app, 'POST', '/api/leads', { email, first_name: 'ada', phone: '+1 555 0100' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await eventually(async () => (h.crm.contact(id)?.version === 1 ? true : undefined), { what: 'the CRM at v1' });

    release = () => {};
    const put = await call(h.app, 'PUT', `/api/leads/${id}`, { email, first_name: 'grace', phone: '+1 555 1003' });
    expect(put.status).toBe(202);
    await eventually(async () => (held > 0 ? true : undefined), { what: 'lead_process to be held' });

    const handle = h.client.workflow.getHandle(leadWorkflowId(id));
    // The plain query already shows the applied change under version 2, not normalized yet...
    const live = await handle.query(leadQuery);
    expect(live).toMatchObject({ version: 2, first_name: 'grace', phone: '+1 555 1003' });
    // ...while what automations read is version 1 exactly as the CRM received it.
    const forAutomations = await createLeadGateway(h.client).read(id);
    expect(forAutomations).toMatchObject({ version: 1, first_name: 'Ada', phone: '+15550100' });
    const { crm: _crm, ...v1 } = forAutomations!;
    expect(h.crm.contact(id)?.lead).toEqual(v1);

    const open = release;
    release = undefined;
    open();
    const contact = await eventually(async () => {
      const c = h.crm.contact(id);
      return c?.version === 2 ? c : undefined;
    }, { what: 'the CRM at v2' });
    expect(contact.lead).toMatchObject({ first_name: 'Grace', phone: '+15551003' });
    expect(await handle.query(processedLeadQuery)).toMatchObject({ version: 2, first_name: 'Grace', phone: '+15551003' });
  });
});
