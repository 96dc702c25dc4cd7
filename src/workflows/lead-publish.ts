import { upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LeadChange, LeadView } from '../domain/lead.js';
import { MEMO_BATCH_TASKS, type ReadMemo } from '../domain/lead-read-model.js';
import type { TaskState } from '../domain/task.js';
import { LEAD_SEARCH_ATTRIBUTE_KEYS as SA } from '../temporal/search-attributes.js';
import type { CarriedLeadState } from '../temporal/lead-messages.js';
import type { LeadEntity } from './lead-state.js';

const TASKS_IN_MEMO = 20;

type SearchAttributeUpdates = Parameters<typeof upsertSearchAttributes>[0];

/**
 * Publishes the lead at a batch's end (or a repair's): its memo, and its search attributes.
 * `generation` is the run's (see LeadWorkflowInput.generation).
 */
export class LeadPublisher {
  // Generation 2: the search-attribute values visibility holds, so only changes are upserted
  // (each upsert is a history event and a visibility write).
  private readonly published = new Map<string, string | number>();

  constructor(
    private readonly entity: LeadEntity,
    private readonly generation: number,
    initial: LeadChange | undefined,
    carried: CarriedLeadState | undefined,
  ) {
    // Generation 4: a LeadEmail inherited from a generation-3 run (continue-as-new copies
    // search attributes) is removed as the run starts, not left until its next change.
    if (generation >= 4 && workflowInfo().typedSearchAttributes.get(SA.email) !== undefined) {
      upsertSearchAttributes([{ key: SA.email, value: null }] as SearchAttributeUpdates);
    }
    // A new run's start carried the email and stage; a continued run carries the last values published.
    if (generation >= 2 && initial && !carried) {
      this.published.set(SA.email.name, initial.fields.email ?? '');
      this.published.set(SA.stage.name, initial.fields.stage ?? 'new');
    } else if (generation >= 2 && carried) {
      this.published.set(SA.email.name, carried.fields.email);
      this.published.set(SA.stage.name, carried.fields.stage ?? 'new');
      this.published.set(SA.score.name, carried.score);
      this.published.set(SA.crmStatus.name, carried.crm.status);
    }
  }

  publish(batchTasks: TaskState[] = []): void {
    const lead = this.entity.view();
    if (!lead) return;
    this.publishMemo(lead, batchTasks);
    this.publishSearchAttributes(lead);
  }

  /**
   * The memo the next run starts with. Continue-as-new gives a run the memo its chain was
   * started with, not the last one upserted: without this, visibility (the lead list, the
   * failed-lead list, the claim migration) would show the lead as it was created until the
   * new run's first batch. Call it before the state is carried (carry() empties `pending`).
   */
  memoForNextRun(): ReadMemo | undefined {
    const lead = this.entity.view();
    return lead ? this.readMemo(lead, this.lastBatch) : undefined;
  }

  private lastBatch: TaskState[] = [];

  private publishMemo(lead: LeadView, batchTasks: TaskState[]): void {
    if (this.generation >= 3) {
      this.lastBatch = batchTasks.slice(-MEMO_BATCH_TASKS);
      upsertMemo({ ...this.readMemo(lead, this.lastBatch) });
    } else {
      upsertMemo({ lead, tasks: this.recentTasks() });
    }
  }

  /** What the API's read model starts from (domain/lead-read-model.ts): the finished batch's
   * tasks in full, and which accepted changes this lead has not applied yet. */
  private readMemo(lead: LeadView, batch: TaskState[]): ReadMemo {
    return { lead, tasks: this.recentTasks() as ReadMemo['tasks'], batch, queued: this.entity.pending.map((c) => c.task_id) };
  }

  private recentTasks() {
    return [...this.entity.tasks.values()].slice(-TASKS_IN_MEMO).map((t) => [t.task_id, t.status, t.version]);
  }

  private publishSearchAttributes(lead: LeadView): void {
    const attrs = [
      ...(this.generation >= 4 ? [] : [{ key: SA.email, value: lead.email }]),
      { key: SA.stage, value: lead.stage },
      { key: SA.score, value: lead.score },
      { key: SA.crmStatus, value: this.entity.crm.status as string },
    ];
    if (this.generation < 2) {
      upsertSearchAttributes([...attrs, { key: SA.version, value: this.entity.lead.version }] as SearchAttributeUpdates);
      return;
    }
    const changed = attrs.filter((attr) => this.published.get(attr.key.name) !== attr.value);
    if (changed.length === 0) return;
    for (const attr of changed) this.published.set(attr.key.name, attr.value);
    upsertSearchAttributes(changed as SearchAttributeUpdates);
  }
}
