import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { droppedWorkflowSpans } from '../../src/tracing/tracing.js';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES } from '../../src/temporal/workflow-modules.js';

// The determinism guard (issue #4): every stored history of a real workflow run is replayed
// against the workflow code as it is now, with the worker's replayer. A change that would
// make a running workflow take a different path than its history recorded (a command added,
// removed, reordered or renamed without patched()) fails here, before it can fail in
// production. How to change workflow code safely: docs/workflow-versioning.md.
// Histories come from `npm run histories:record` (scripts/record-histories.ts), or from a
// real cluster with `temporal workflow show --output json`.

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
/** The TypeScript sources, not a prebuilt bundle: what is about to be committed is what is checked. */
const WORKFLOWS = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

function historyFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return historyFiles(path);
      return entry.name.endsWith('.json') ? [path] : [];
    })
    .sort();
}

type History = temporal.api.history.v1.IHistory;

interface Stored {
  /** `<label>/<scenario>`, also used as the workflow id of the replay. */
  name: string;
  /** The file's text: proto3 JSON, as `temporal workflow show --output json` writes it. */
  text: string;
  history: History;
}

const stored: Stored[] = historyFiles(HISTORIES).map((file) => {
  const text = readFileSync(file, 'utf8');
  return { name: relative(HISTORIES, file).replace(/\.json$/, ''), text, history: historyFromJSON(JSON.parse(text)) };
});

interface JsonEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
}

/** A copy of a history in which one scheduled activity has another name: what renaming it in code would do. */
function withRenamedActivity(text: string): History {
  const json = JSON.parse(text) as { events: JsonEvent[] };
  const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  if (!scheduled) throw new Error('the history schedules no activity');
  scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'renamedInCode';
  return historyFromJSON(json);
}

let results: Map<string, ReplayResult>;

beforeAll(async () => {
  const tampered = stored.find((s) => s.name.endsWith('/create'));
  const inputs = [
    ...stored.map((s) => ({ workflowId: s.name, history: s.history })),
    ...(tampered ? [{ workflowId: 'negative-control', history: withRenamedActivity(tampered.text) }] : []),
  ];
  results = new Map();
  // One replay worker for every history: the workflow code is bundled once, with the
  // workflow interceptor modules every worker's bundle holds (the histories recorded before
  // they were added must replay through them too).
  const options = {
    workflowsPath: WORKFLOWS,
    replayName: 'determinism-guard',
    interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
    bundlerOptions: { preloadModules: WORKFLOW_PRELOAD_MODULES },
    sinks: droppedWorkflowSpans(),
  };
  for await (const result of Worker.runReplayHistories(options, inputs)) {
    results.set(result.workflowId, result);
  }
}, 180_000);

describe('stored workflow histories replay against the current workflow code', () => {
  it('there are stored histories, and each one was replayed', () => {
    expect(stored.length).toBeGreaterThan(0);
    for (const { name } of stored) expect(results.has(name), `${name} was not replayed`).toBe(true);
  });

  it.each(stored.map((s) => [s.name]))('%s replays without a determinism violation', (name) => {
    const error = results.get(name)?.error;
    if (error) {
      throw new Error(
        `${name} no longer replays: ${error.name}: ${error.message}\n` +
          'A running workflow with this history would fail the same way. Guard the change with ' +
          'patched() (docs/workflow-versioning.md) instead of re-recording the history.',
      );
    }
  });

  it('the guard catches a change: the same history with one activity renamed fails to replay', () => {
    expect(stored.some((s) => s.name.endsWith('/create')), 'a create history is needed for the negative control').toBe(true);
    const error = results.get('negative-control')?.error;
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect(error?.message).toMatch(/renamedInCode|activity type|nondetermin/i);
  });
});

describe('lead runs of generation 2 and later (LeadWorkflowInput.generation)', () => {
  const decode = (data: string | undefined) => (data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as Record<string, unknown>) : {});
  const leadRuns = stored
    .map((s) => ({ name: s.name, events: (JSON.parse(s.text) as { events: RawEvent[] }).events }))
    .filter(({ events }) => events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'leadWorkflow');
  const generationOf = (events: RawEvent[]) =>
    decode(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data).generation;

  it('are among the stored histories, next to older ones', () => {
    expect(leadRuns.filter((r) => generationOf(r.events) === 2).length).toBeGreaterThan(0);
    expect(leadRuns.filter((r) => generationOf(r.events) === 3).length).toBeGreaterThan(0);
    expect(leadRuns.filter((r) => generationOf(r.events) === undefined).length).toBeGreaterThan(0);
  });

  it('record no patch markers, no TemporalChangeVersion upserts and no LeadVersion', () => {
    for (const { name, events } of leadRuns.filter((r) => Number(generationOf(r.events)) >= 2)) {
      const markers = events.map((e) => e.markerRecordedEventAttributes?.markerName).filter(Boolean);
      expect(markers, name).not.toContain('core_patch');
      const upserted = events.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
      expect(upserted, name).not.toContain('TemporalChangeVersion');
      expect(upserted, name).not.toContain('LeadVersion');
    }
  });
});

interface RawEvent {
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string }; input?: { payloads?: Array<{ data?: string }> } };
  markerRecordedEventAttributes?: { markerName?: string };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, unknown> } };
}
