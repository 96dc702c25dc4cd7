import { describe, expect, it } from 'vitest';
import { newTaskId } from '../../src/domain/ids.js';
import { MAX_ISSUES, mapError } from '../../src/api/errors.js';
import { NoValidLeadError, rejectedAnswer, validateBatch } from '../../src/api/lead-batch.js';
import { batchItemKey, inLeadOrder } from '../../src/leads/batch-writes.js';

describe('validateBatch', () => {
  it('keeps each lead with its index, parsed as single writes parse it', () => {
    const { valid, rejected } = validateBatch([{ email: ' Ada@Example.com ' }, { email: 'nope' }, { email: 'b@example.com', first_name: ' bob ' }]);
    expect(valid).toEqual([
      { index: 0, fields: { email: 'ada@example.com' } },
      { index: 2, fields: { email: 'b@example.com', first_name: 'bob' } },
    ]);
    expect(rejected).toEqual([{ index: 1, issues: [{ path: 'email', code: 'invalid_format', message: 'must be a valid email address' }] }]);
  });

  it('names issues relative to the lead: nested paths, unknown fields, a lead that is not an object', () => {
    const { rejected } = validateBatch([
      { email: 'a@example.com', tags: ['ok', 'a\nb'], custom: { nested: { x: 1 } }, fax: 1 },
      'a@example.com',
      null,
    ]);
    expect(rejected.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(rejected[0]!.issues.map((i) => `${i.path}:${i.code}`).sort()).toEqual(['custom.nested:invalid_union', 'fax:unknown_field', 'tags.1:custom']);
    expect(rejected[1]!.issues).toEqual([{ path: '(lead)', code: 'invalid_type', message: expect.any(String) }]);
    expect(rejected[2]!.issues).toEqual([{ path: '(lead)', code: 'invalid_type', message: expect.any(String) }]);
  });
});

describe('answers for refused leads', () => {
  it('a rejected lead says invalid_lead, counts every problem and lists at most MAX_ISSUES', () => {
    const tags = Array.from({ length: 50 }, () => 'a\nb');
    const [rejected] = validateBatch([{ email: 'nope', tags, custom: { ['1bad']: 1 } }]).rejected;
    const answer = rejectedAnswer(rejected!);
    expect(answer.error.code).toBe('invalid_lead');
    expect(answer.error.message).toBe(`the lead is invalid (${rejected!.issues.length} problems)`);
    expect(rejected!.issues.length).toBeGreaterThan(MAX_ISSUES);
    expect(answer.error.issues).toHaveLength(MAX_ISSUES);
  });

  it('no valid lead: a 400 invalid_request whose paths name the lead (leads.N…), capped by the error mapper', () => {
    const { rejected } = validateBatch([{ email: 'nope' }, 42, { email: 'a@example.com', fax: 1 }]);
    const mapped = mapError(new NoValidLeadError(rejected));
    expect(mapped.status).toBe(400);
    expect(mapped.body.error.code).toBe('invalid_request');
    expect(mapped.body.error.message).toBe('the request body is invalid: none of its 3 leads is valid (3 problems)');
    expect(mapped.body.error.issues.map((i) => i.path)).toEqual(['leads.0.email', 'leads.1', 'leads.2.fax']);

    const many = validateBatch(Array.from({ length: 60 }, () => ({ email: 'nope' }))).rejected;
    expect(mapError(new NoValidLeadError(many)).body.error.issues).toHaveLength(MAX_ISSUES);
  });
});

describe('batchItemKey', () => {
  it('gives each item its own stable task id, never one a single write with any valid key gets', () => {
    const lead = 'aaaaaaaaaaaaaaaaaaaa';
    const first = newTaskId(lead, 'create', batchItemKey('k-1', 0));
    expect(newTaskId(lead, 'create', batchItemKey('k-1', 0))).toBe(first);
    expect(newTaskId(lead, 'create', batchItemKey('k-1', 1))).not.toBe(first);
    expect(newTaskId(lead, 'create', batchItemKey('k-2', 0))).not.toBe(first);
    // Single writes' keys are visible ASCII without spaces: the batch form cannot be one.
    expect(batchItemKey('k-1', 0)).toMatch(/ /);
  });
});

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('inLeadOrder', () => {
  it('answers in the order given; items of one lead one after another, in order', async () => {
    const items = ['a1', 'b1', 'a2', 'c1', 'a3', 'b2'];
    const running = new Set<string>();
    const started: string[] = [];
    const results = await inLeadOrder(items, (item) => item[0]!, 8, async (item, lead) => {
      expect(running.has(lead)).toBe(false);
      running.add(lead);
      started.push(item);
      await tick();
      running.delete(lead);
      return item.toUpperCase();
    });
    expect(results).toEqual(['A1', 'B1', 'A2', 'C1', 'A3', 'B2']);
    for (const lead of ['a', 'b']) expect(started.filter((s) => s[0] === lead)).toEqual(items.filter((s) => s[0] === lead));
  });

  it('runs different leads in parallel, never more than the bound', async () => {
    let now = 0;
    let peak = 0;
    const items = Array.from({ length: 40 }, (_, i) => `lead-${i}`);
    await inLeadOrder(items, (item) => item, 8, async () => {
      peak = Math.max(peak, ++now);
      await tick();
      now -= 1;
    });
    expect(peak).toBe(8);
  });

  it('starts nothing after a failure and throws the first error once the writes in flight settle', async () => {
    const started: string[] = [];
    let settled = 0;
    const items = Array.from({ length: 20 }, (_, i) => `lead-${i}`);
    const run = inLeadOrder(items, (item) => item, 2, async (item) => {
      started.push(item);
      await tick();
      settled += 1;
      if (item === 'lead-3') throw new Error('deadline');
      if (item === 'lead-4') throw new Error('later');
    });
    await expect(run).rejects.toThrow('deadline');
    expect(started.length).toBeLessThan(items.length);
    expect(settled).toBe(started.length);
  });
});
