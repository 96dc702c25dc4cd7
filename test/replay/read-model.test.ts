import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { baseAndTail } from '../../src/leads/lead-tail.js';
import type { LeadChange } from '../../src/domain/lead.js';
import { foldLead } from '../../src/domain/lead-read-model.js';
import type { LeadWorkflowInput } from '../../src/temporal/lead-messages.js';

// The API's read model against real lead histories (recorded by `npm run histories:record`
// on generation 3): cut each history after every event, as a read at that moment would see
// it, and fold. Whatever the cut, every change the run had accepted must show in the lead's
// version, and the recent ones as tasks the read can find (older tasks than the memo lists
// are asked of the workflow, which keeps 200).

type Event = temporal.api.history.v1.IHistoryEvent;
const DIR = fileURLToPath(new URL('./histories/2026-12-05/', import.meta.url));
const decode = <T>(payload: temporal.api.common.v1.IPayload | null | undefined) =>
  payload ? defaultPayloadConverter.fromPayload<T>(payload) : undefined;

const leadHistories = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, events: historyFromJSON(JSON.parse(readFileSync(DIR + file, 'utf8'))).events ?? [] }))
  .filter(({ events }) => events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'leadWorkflow');

async function* newestFirst(events: Event[]) {
  for (let i = events.length - 1; i >= 0; i--) yield events[i]!;
}

const leadIdOf = (events: Event[]) => decode<LeadWorkflowInput>(events[0]!.workflowExecutionStartedEventAttributes!.input?.payloads?.[0])!.leadId;

/** What the run has accepted up to a cut, counted directly from the events. */
function accepted(events: Event[]): { version: number; taskIds: string[] } {
  const input = decode<LeadWorkflowInput>(events[0]!.workflowExecutionStartedEventAttributes!.input?.payloads?.[0])!;
  const applied = new Set((input.carried?.tasks ?? []).filter((t) => t.version !== null).map((t) => t.task_id));
  const ids: string[] = [];
  const take = (c: LeadChange | undefined) => c && !applied.has(c.task_id) && !ids.includes(c.task_id) && ids.push(c.task_id);
  take(input.initial);
  for (const c of input.carried?.pending ?? []) take(c);
  for (const e of events) {
    const s = e.workflowExecutionSignaledEventAttributes;
    if (s?.signalName === 'leadChange') take(decode<LeadChange>(s.input?.payloads?.[0]));
  }
  return { version: (input.carried?.version ?? 0) + ids.length, taskIds: ids };
}

describe('the read model on recorded generation-3 lead histories', () => {
  it('has histories to check, with batches that overlap later changes', () => {
    expect(leadHistories.map((h) => h.file)).toEqual(expect.arrayContaining(['create.json', 'rapid-updates.json', 'continue-as-new-latest-run.json']));
    const queuedAtMemo = leadHistories.flatMap(({ events }) =>
      events.map((e) => decode<string[]>(e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.queued) ?? []),
    );
    expect(queuedAtMemo.some((q) => q.length > 0)).toBe(true);
  });

  it.each(leadHistories.map((h) => [h.file, h.events] as const))('%s: every cut shows every accepted change', async (_file, events) => {
    for (let cut = 1; cut <= events.length; cut++) {
      const seen = events.slice(0, cut);
      const read = await baseAndTail(newestFirst(seen));
      expect(read, `cut at event ${cut}`).toBeDefined();
      const model = foldLead(leadIdOf(events), read!.base, read!.tail);
      const expected = accepted(seen);
      expect(model.lead?.version ?? 0, `version at event ${cut}`).toBe(expected.version);
      for (const id of expected.taskIds.slice(-10)) expect(model.task(id), `task ${id} at event ${cut}`).toBeDefined();
    }
  });

  it('answers the final state in full: every task of the last batch finished, the lead as the workflow published it', async () => {
    for (const { file, events } of leadHistories) {
      const memos = events.filter((e) => e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.lead);
      const last = memos.at(-1)?.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields;
      if (!last) continue;
      const read = await baseAndTail(newestFirst(events));
      const model = foldLead(leadIdOf(events), read!.base, read!.tail);
      expect(model.lead, file).toEqual(decode(last.lead));
      for (const task of decode<Array<{ task_id: string; status: string }>>(last.batch) ?? []) {
        expect(model.task(task.task_id), `${file} ${task.task_id}`).toMatchObject({ status: expect.stringMatching(/completed|failed/) });
      }
    }
  });
});
