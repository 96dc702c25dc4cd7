import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { LEAD_SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { startDevServer, type DevServer } from '../../tooling/temporal/dev-server.js';

const INDEXED_TYPE_NAMES: Record<string, number> = { Keyword: 2, Int: 3 };

describe('Temporal dev server', () => {
  it('global setup provides a server with the lead search attributes registered', async () => {
    const address = inject('temporalAddress');
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(process.env.TEMPORAL_ADDRESS ?? address).toBe(address);

    const connection = await Connection.connect({ address });
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const custom = res.customAttributes ?? {};
      for (const [name, kind] of Object.entries(LEAD_SEARCH_ATTRIBUTES)) {
        expect(custom[name], name).toBe(INDEXED_TYPE_NAMES[kind]);
      }
    } finally {
      await connection.close();
    }
  });

  describe('with a SQLite file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-server-test-'));
    const dbFile = join(dir, 'temporal.db');
    const servers: DevServer[] = [];

    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps workflows across a restart and adds search attributes to the existing file', async () => {
      const workflowId = `dev-server-restart-${Date.now()}`;

      // First run: no custom search attributes at all.
      const first = await startDevServer({ headless: true, dbFile, searchAttributes: {} });
      servers.push(first);
      {
        const connection = await Connection.connect({ address: first.address });
        try {
          const client = new Client({ connection, namespace: 'default' });
          await client.workflow.start('noSuchWorkflowType', { taskQueue: 'dev-server-test', workflowId });
          const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
          expect(Object.keys(res.customAttributes ?? {})).not.toContain('LeadEmail');
        } finally {
          await connection.close();
        }
      }
      await first.stop();
      expect(first.process.exitCode !== null || first.process.signalCode !== null).toBe(true);

      // Second run on the same file, with the default (lead) search attributes.
      const second = await startDevServer({ headless: true, dbFile });
      servers.push(second);
      const connection = await Connection.connect({ address: second.address });
      try {
        const client = new Client({ connection, namespace: 'default' });

        const description = await client.workflow.getHandle(workflowId).describe();
        expect(description.status.name).toBe('RUNNING');
        expect(description.type).toBe('noSuchWorkflowType');

        const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        for (const name of Object.keys(LEAD_SEARCH_ATTRIBUTES)) {
          expect(Object.keys(res.customAttributes ?? {})).toContain(name);
        }

        // The attributes are usable right away.
        const leadEmail = defineSearchAttributeKey('LeadEmail', SearchAttributeType.KEYWORD);
        const leadScore = defineSearchAttributeKey('LeadScore', SearchAttributeType.INT);
        const handle = await client.workflow.start('noSuchWorkflowType', {
          taskQueue: 'dev-server-test',
          workflowId: `${workflowId}-with-attrs`,
          typedSearchAttributes: [
            { key: leadEmail, value: 'someone@example.com' },
            { key: leadScore, value: 42 },
          ],
        });
        const withAttrs = await handle.describe();
        expect(withAttrs.typedSearchAttributes.get(leadEmail)).toBe('someone@example.com');
        expect(withAttrs.typedSearchAttributes.get(leadScore)).toBe(42);
      } finally {
        await connection.close();
      }
    });
  });
});
