import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LeadInput } from '../../src/domain/lead.js';

// The OpenAPI document says each field's rules again as JSON Schema patterns, because zod
// cannot export a refine. Where the two differ, a client that trusts the document is refused
// (or a generator such as schemathesis sends "valid" data and gets a 400, as CI once did
// with a phone of one digit padded with Unicode spaces). These properties hold them together:
// on strings built from the characters each rule cares about, the pattern and the validator
// give the same verdict.

const document = z.toJSONSchema(LeadInput, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as {
  properties: Record<string, { pattern?: string; maxLength?: number; items?: { pattern?: string; maxLength?: number } }>;
};

function documentedVerdict(rule: { pattern?: string; maxLength?: number } | undefined, value: string): boolean {
  if (!rule?.pattern) throw new Error('the field has no documented pattern');
  const withinLength = rule.maxLength === undefined || [...value].length <= rule.maxLength;
  return withinLength && new RegExp(rule.pattern, 'u').test(value);
}

const accepts = (field: string, value: unknown) => LeadInput.safeParse({ email: 'ada@example.com', [field]: value }).success;

const UNICODE_SPACES = [' ', '\u00a0', '\u2003', '\u202f', '\ufeff', '\u3000'];
const CONTROLS = ['\t', '\n', '\r', '\u0000', '\u0085', '\u2028'];
const from = (chars: string[], maxLength: number) =>
  fc.array(fc.constantFrom(...chars), { maxLength }).map((cs) => cs.join(''));

describe('documented patterns agree with the validator', () => {
  it('phone', () => {
    const rule = document.properties.phone;
    const chars = [...'0123456789+().-/x', ...UNICODE_SPACES, '\t'];
    fc.assert(
      fc.property(from(chars, 44), (phone) => {
        expect(documentedVerdict(rule, phone), JSON.stringify(phone)).toBe(accepts('phone', phone));
      }),
      { numRuns: 5000 },
    );
    // The case CI met, and its neighbours at the three-character minimum.
    for (const phone of ['   2\ufeff\u202f\u2000\u205f', ' 12 ', '1 2', '+1', '+ 1', '+12', '12+', '', '\u00a0']) {
      expect(documentedVerdict(rule, phone), JSON.stringify(phone)).toBe(accepts('phone', phone));
    }
  });

  it('names and other single-line text', () => {
    const rule = document.properties.first_name;
    const chars = ['a', 'É', '😀', ...UNICODE_SPACES, ...CONTROLS];
    fc.assert(
      fc.property(from(chars, 104), (name) => {
        expect(documentedVerdict(rule, name), JSON.stringify(name)).toBe(accepts('first_name', name));
      }),
      { numRuns: 2000 },
    );
  });

  it('tags', () => {
    const rule = document.properties.tags!.items;
    const chars = ['a', 'B', '-', ...UNICODE_SPACES, ...CONTROLS];
    fc.assert(
      fc.property(from(chars, 66), (tag) => {
        expect(documentedVerdict(rule, tag), JSON.stringify(tag)).toBe(accepts('tags', [tag]));
      }),
      { numRuns: 2000 },
    );
  });

  it('email', () => {
    const rule = document.properties.email;
    const local = from(['a', 'Z', '0', '.', '_', "'", '+', '-'], 6);
    const domain = from(['a', '0', '-', '.'], 8);
    const tld = from(['a', 'Q', '1'], 3);
    const pad = from([' ', '\u00a0', '\ufeff', '\t'], 2);
    const email = fc.tuple(pad, local, fc.constantFrom('@', '@@', ''), domain, fc.constantFrom('.', ''), tld, pad).map((parts) => parts.join(''));
    fc.assert(
      fc.property(email, (value) => {
        expect(documentedVerdict(rule, value), JSON.stringify(value)).toBe(LeadInput.safeParse({ email: value }).success);
      }),
      { numRuns: 5000 },
    );
  });
});
