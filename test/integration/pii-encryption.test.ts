import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadWorkflowId } from '../../src/domain/ids.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS } from '../../src/temporal/search-attributes.js';
import { call, eventually, startHarness, uniqueEmail, type Harness } from '../support/harness.js';

// With TEMPORAL_CODEC_KEYS set, Temporal holds no lead data in clear text: a client without
// the key reads the raw history, describe and visibility of a processed lead and finds
// neither its email nor its name, while the API (with the key) reads the lead back, and the
// codec endpoint the Web UI uses decrypts what the history holds.

const { History } = proto.temporal.api.history.v1;
const { DescribeWorkflowExecutionResponse, ListWorkflowExecutionsResponse } = proto.temporal.api.workflowservice.v1;

let h: Harness;
let raw: Connection;
beforeAll(async () => {
  h = await startHarness({ TEMPORAL_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` });
  await h.startWorker();
  raw = await Connection.connect({ address: h.config.TEMPORAL_ADDRESS });
});
afterAll(async () => {
  await raw?.close();
  await h?.close();
});

describe('lead data encrypted in Temporal (payload codec on)', () => {
  it('is nowhere in the raw history, describe or visibility, and the API reads it back', async () => {
    const email = uniqueEmail('secret');
    const lastName = `Hopper${randomBytes(4).toString('hex')}`;
    const created = await call(h.app, 'POST', '/api/leads', { email, first_name: 'Grace', last_name: lastName, company: 'Navy' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await eventually(
      async () => {
        const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
        return res.body.status === 'completed' ? res.body : undefined;
      },
      { what: 'the create to be processed' },
    );
    await eventually(async () => (h.crm.contact(id) ? true : undefined), { what: 'the CRM sync' });

    // The API, with the key: the lead, its history and the listing by email.
    const lead = await call(h.app, 'GET', `/api/leads/${id}`);
    expect(lead.status).toBe(200);
    const named = expect.stringMatching(new RegExp(`^${lastName}$`, 'i'));
    expect(lead.body).toMatchObject({ id, email, last_name: named, version: 1 });
    const history = await call(h.app, 'GET', `/api/leads/${id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.events.map((e: { kind: string }) => e.kind)).toContain('crm_sync');
    const listed = await eventually(async () => {
      const res = await call(h.app, 'GET', `/api/leads?email=${encodeURIComponent(email)}`);
      return res.body.items?.[0]?.version === 1 ? res.body.items : undefined;
    }, { what: 'the lead listed by email' });
    expect(listed).toEqual([expect.objectContaining({ id, email, last_name: named })]);

    // A client without the key: the history, describe and visibility as Temporal stores them.
    const plain = new Client({ connection: raw, namespace: h.config.TEMPORAL_NAMESPACE });
    const workflowId = leadWorkflowId(id);
    const fetched = await plain.workflow.getHandle(workflowId).fetchHistory();
    const description = await raw.workflowService.describeWorkflowExecution({ namespace: h.config.TEMPORAL_NAMESPACE, execution: { workflowId } });
    const visibility = await raw.workflowService.listWorkflowExecutions({ namespace: h.config.TEMPORAL_NAMESPACE, query: `WorkflowId = '${workflowId}'` });
    const bytes = Buffer.concat([
      History.encode(fetched).finish(),
      DescribeWorkflowExecutionResponse.encode(description).finish(),
      ListWorkflowExecutionsResponse.encode(visibility).finish(),
    ]);
    expect(fetched.events?.length).toBeGreaterThan(5);
    expect(visibility.executions?.length).toBe(1);
    // Case-insensitive: processing normalizes names.
    const stored = bytes.toString('latin1').toLowerCase();
    for (const secret of [email, lastName, email.split('@')[0]!]) {
      expect(stored.includes(secret.toLowerCase()), `${secret} in clear text`).toBe(false);
    }
    expect(Object.keys(description.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {})).not.toContain(LEAD_SEARCH_ATTRIBUTE_KEYS.email.name);

    // The codec endpoint (the Web UI's, on the ops listener) decrypts the creating change the history holds (the
    // signal of the signalWithStart that started the lead).
    const input = fetched.events?.find((e) => e.workflowExecutionSignaledEventAttributes)?.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(input!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('base64');
    const body = { payloads: [{ metadata: Object.fromEntries(Object.entries(input!.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(input!.data) }] };
    const decoded = await call(h.ops, 'POST', '/codec/decode', body);
    expect(decoded.status, JSON.stringify(decoded.body)).toBe(200);
    const start = JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString('utf8'));
    expect(start).toMatchObject({ op: 'create', fields: { email, last_name: lastName } });
  });

  it('keeps failure messages encrypted too, while the API shows them', async () => {
    h.crm.setFaults({ down: true });
    try {
      const created = await call(h.app, 'POST', '/api/leads', { email: uniqueEmail('failing') });
      const retrying = await eventually(async () => {
        const res = await call(h.app, 'GET', `/api/tasks/${created.body.task_id}`);
        return res.body.status === 'retrying' && res.body.attempts >= 2 ? res.body : undefined;
      }, { what: 'the CRM write to be retried' });
      expect(retrying.last_error).toMatch(/503/);
      h.crm.clearFaults();
      await eventually(async () => (h.crm.contact(created.body.id) ? true : undefined), { what: 'the CRM write after recovery' });

      const history = await call(h.app, 'GET', `/api/leads/${created.body.id}/history`);
      const retry = history.body.events.find((e: { kind: string }) => e.kind === 'retry');
      expect(retry?.last_error).toMatch(/simulated outage/);

      const plain = new Client({ connection: raw, namespace: h.config.TEMPORAL_NAMESPACE });
      const fetched = await plain.workflow.getHandle(leadWorkflowId(created.body.id)).fetchHistory();
      const stored = Buffer.from(History.encode(fetched).finish()).toString('latin1');
      expect(stored).toContain('Encoded failure');
      expect(stored).not.toContain('simulated outage');
    } finally {
      h.crm.clearFaults();
    }
  });
});
