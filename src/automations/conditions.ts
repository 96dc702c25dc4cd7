import type { LeadView } from '../domain/lead.js';

// Conditions are data, never code: `{field, op, value}` leaves combined with `all`, `any`
// and `not`. This module is pure (no I/O, no Node built-ins) because the automation
// workflow evaluates conditions itself; schema.ts validates them when files are loaded.

export const CONDITION_OPS = [
  'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'contains', 'starts_with', 'ends_with', 'exists',
] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

export type Scalar = string | number | boolean;

export type Condition =
  | { field: string; op: ConditionOp; value?: Scalar | Scalar[] }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

export type FieldKind = 'string' | 'number' | 'boolean' | 'string[]' | 'any';

/** The lead fields a condition may name; `custom.<key>` reaches the custom map. */
export const CONDITION_FIELDS: Record<string, FieldKind> = {
  email: 'string',
  email_domain: 'string',
  first_name: 'string',
  last_name: 'string',
  company: 'string',
  phone: 'string',
  source: 'string',
  stage: 'string',
  tags: 'string[]',
  unsubscribed: 'boolean',
  score: 'number',
  version: 'number',
  'crm.status': 'string',
};

export const CUSTOM_FIELD = /^custom\.[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The kind of a field name, or undefined when conditions cannot name it. */
export function fieldKind(field: string): FieldKind | undefined {
  if (Object.prototype.hasOwnProperty.call(CONDITION_FIELDS, field)) return CONDITION_FIELDS[field];
  return CUSTOM_FIELD.test(field) ? 'any' : undefined;
}

/** A field's value on a lead; undefined when the lead does not have it. */
export function fieldValue(lead: LeadView, field: string): unknown {
  if (field === 'email_domain') return lead.email.slice(lead.email.lastIndexOf('@') + 1);
  if (field === 'crm.status') return lead.crm?.status;
  if (field.startsWith('custom.')) {
    const key = field.slice('custom.'.length);
    const custom = lead.custom ?? {};
    return Object.prototype.hasOwnProperty.call(custom, key) ? custom[key] : undefined;
  }
  return (lead as unknown as Record<string, unknown>)[field];
}

const fold = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
const same = (a: unknown, b: unknown) => fold(a) === fold(b);
const isBlank = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * Evaluates a condition against a lead. String comparisons ignore case; a missing field
 * makes every comparison false except `ne`, `not_in` and `exists: false`.
 */
export function evaluateCondition(condition: Condition, lead: LeadView): boolean {
  if ('all' in condition) return condition.all.every((c) => evaluateCondition(c, lead));
  if ('any' in condition) return condition.any.some((c) => evaluateCondition(c, lead));
  if ('not' in condition) return !evaluateCondition(condition.not, lead);
  const actual = fieldValue(lead, condition.field);
  const expected = condition.value;
  const list = Array.isArray(expected) ? expected : [expected];
  switch (condition.op) {
    case 'exists':
      return (expected ?? true) === !isBlank(actual);
    case 'eq':
      return Array.isArray(actual) ? false : same(actual, expected);
    case 'ne':
      return Array.isArray(actual) ? true : !same(actual, expected);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof actual !== 'number' || typeof expected !== 'number') return false;
      if (condition.op === 'gt') return actual > expected;
      if (condition.op === 'gte') return actual >= expected;
      if (condition.op === 'lt') return actual < expected;
      return actual <= expected;
    }
    case 'in':
      return actual !== undefined && list.some((v) => same(actual, v));
    case 'not_in':
      return actual === undefined || !list.some((v) => same(actual, v));
    case 'contains':
      if (Array.isArray(actual)) return actual.some((v) => same(v, expected));
      return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().includes(expected.toLowerCase());
    case 'starts_with':
      return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().startsWith(expected.toLowerCase());
    case 'ends_with':
      return typeof actual === 'string' && typeof expected === 'string' && actual.toLowerCase().endsWith(expected.toLowerCase());
  }
}

/** One line for summaries and status: `stage in [contacted, qualified]`, `not(tags contains vip)`. */
export function describeCondition(condition: Condition): string {
  if ('all' in condition) return condition.all.map(describeCondition).join(' and ');
  if ('any' in condition) return `(${condition.any.map(describeCondition).join(' or ')})`;
  if ('not' in condition) return `not(${describeCondition(condition.not)})`;
  const value = condition.value;
  const shown = Array.isArray(value) ? `[${value.join(', ')}]` : value === undefined ? '' : String(value);
  if (condition.op === 'exists') return value === false ? `${condition.field} missing` : `${condition.field} exists`;
  const symbol: Partial<Record<ConditionOp, string>> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };
  return `${condition.field} ${symbol[condition.op] ?? condition.op.replace('_', ' ')} ${shown}`;
}
