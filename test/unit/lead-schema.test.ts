import { describe, expect, it } from 'vitest';
import { applyChange } from '../../src/domain/apply-change.js';
import { LEAD_STAGES, LeadInput, LeadPatch, type LeadChange, type LeadFields } from '../../src/domain/lead.js';

// The lead body schemas are the API contract's first line: every rule here is one a
// client can hit with a 400, and one the workflows rely on never seeing broken.

type Parsed = ReturnType<typeof LeadInput.safeParse> | ReturnType<typeof LeadPatch.safeParse>;

/** The issues of a failed parse as `path: code` strings, in zod's order. */
function issues(result: Parsed): string[] {
  expect(result.success, 'expected the parse to fail').toBe(false);
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.code}`);
}

function ok<T extends Parsed>(result: T): NonNullable<T['data']> {
  if (!result.success) throw new Error(`expected success, got ${JSON.stringify(result.error.issues)}`);
  return result.data as NonNullable<T['data']>;
}

const lead = (extra: Record<string, unknown> = {}) => ({ email: 'ada@example.com', ...extra });

describe('LeadInput: whole leads', () => {
  it('accepts a minimal lead (email only)', () => {
    expect(ok(LeadInput.safeParse({ email: 'ada@example.com' }))).toEqual({ email: 'ada@example.com' });
  });

  it('accepts a full lead and returns every field normalized', () => {
    const data = ok(
      LeadInput.safeParse({
        email: 'Ada@Example.com',
        first_name: ' Ada ',
        last_name: 'Lovelace',
        company: 'Analytical   Engines',
        phone: '+44 (20) 7946-0000',
        source: 'referral',
        stage: 'qualified',
        tags: ['VIP', 'enterprise'],
        custom: { plan: 'pro', seats: 12, trial: false, 'utm.campaign-id': 'x_1' },
        unsubscribed: false,
      }),
    );
    expect(data).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      company: 'Analytical Engines',
      phone: '+44 (20) 7946-0000',
      source: 'referral',
      stage: 'qualified',
      tags: ['enterprise', 'vip'],
      custom: { plan: 'pro', seats: 12, trial: false, 'utm.campaign-id': 'x_1' },
      unsubscribed: false,
    });
  });

  it('requires an email', () => {
    expect(issues(LeadInput.safeParse({ first_name: 'Ada' }))).toEqual(['email: invalid_type']);
  });

  it('refuses values of the wrong type', () => {
    expect(issues(LeadInput.safeParse(lead({ unsubscribed: 'yes', first_name: 42, tags: 'vip' })))).toEqual([
      'first_name: invalid_type',
      'tags: invalid_type',
      'unsubscribed: invalid_type',
    ]);
  });

  it.each([null, [], 'ada@example.com', 42])('refuses a body that is not an object: %j', (body) => {
    expect(issues(LeadInput.safeParse(body))).toEqual([': invalid_type']);
  });
});

describe('LeadInput: email', () => {
  it('trims and lower-cases the email', () => {
    expect(ok(LeadInput.safeParse({ email: '  Ada.Lovelace@Example.COM \n' })).email).toBe('ada.lovelace@example.com');
  });

  it('trims non-breaking spaces too (String#trim semantics)', () => {
    expect(ok(LeadInput.safeParse({ email: '\u00a0ada@example.com\u00a0' })).email).toBe('ada@example.com');
  });

  it('accepts plus addressing and sub-domains', () => {
    expect(ok(LeadInput.safeParse({ email: 'ada+leads@mail.example.co.uk' })).email).toBe('ada+leads@mail.example.co.uk');
  });

  it('accepts exactly 254 characters and refuses 255', () => {
    const at254 = `${'a'.repeat(64)}@${'b'.repeat(185)}.com`;
    expect(at254).toHaveLength(254);
    expect(ok(LeadInput.safeParse({ email: at254 })).email).toBe(at254);
    const at255 = `${'a'.repeat(64)}@${'b'.repeat(186)}.com`;
    expect(issues(LeadInput.safeParse({ email: at255 }))).toEqual(['email: too_big']);
  });

  it('refuses a very long email without running the format check', () => {
    const result = LeadInput.safeParse({ email: `${'a'.repeat(10_000)}@example.com` });
    expect(issues(result)).toEqual(['email: too_big']);
    expect(result.error?.issues[0]?.message).toBe('must be at most 254 characters');
  });

  it.each([
    ['no @', 'ada.example.com'],
    ['empty', ''],
    ['only spaces', '   '],
    ['no local part', '@example.com'],
    ['no domain', 'ada@'],
    ['no TLD', 'ada@localhost'],
    ['two @', 'ada@lovelace@example.com'],
    ['space inside', 'ada lovelace@example.com'],
    ['consecutive dots', 'ada..lovelace@example.com'],
    ['leading dot', '.ada@example.com'],
    ['CRLF header injection', 'a@b.com\r\nBcc: x@y.com'],
    ['LF header injection', 'a@b.com\nBcc: x@y.com'],
    ['NUL byte', 'ada@example.com\u0000'],
    ['quoted local part', '"ada lovelace"@example.com'],
    ['IP literal domain', 'ada@[127.0.0.1]'],
    ['Cyrillic a lookalike', '\u0430da@example.com'],
    ['Cyrillic domain lookalike', 'ada@ex\u0430mple.com'],
    ['full-width @', 'ada\uff20example.com'],
    ['zero-width space', 'ada\u200b@example.com'],
    ['right-to-left override', 'ada\u202e@example.com'],
    ['internationalized domain (not punycode)', 'ada@exämple.com'],
  ])('refuses an invalid or exotic email (%s)', (_label, email) => {
    const result = LeadInput.safeParse({ email });
    expect(issues(result)).toEqual([`email: invalid_format`]);
    expect(result.error?.issues[0]?.message).toBe('must be a valid email address');
  });

  it('refuses a non-string email', () => {
    expect(issues(LeadInput.safeParse({ email: 42 }))).toEqual(['email: invalid_type']);
    expect(issues(LeadInput.safeParse({ email: null }))).toEqual(['email: invalid_type']);
  });
});

describe('LeadInput: unknown fields (strict object)', () => {
  it('refuses an unknown field with unrecognized_keys naming it', () => {
    const result = LeadInput.safeParse(lead({ fax: '123' }));
    expect(issues(result)).toEqual([': unrecognized_keys']);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['fax'] });
  });

  it('lists every unknown field in one issue', () => {
    const result = LeadInput.safeParse(lead({ fax: '1', id: 'x', version: 3 }));
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['fax', 'id', 'version'] });
  });

  it('refuses a top-level __proto__ key (as JSON.parse creates it) as unknown', () => {
    const body: unknown = JSON.parse('{"email":"ada@example.com","__proto__":{"polluted":true}}');
    const result = LeadInput.safeParse(body);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['__proto__'] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a top-level constructor key as unknown', () => {
    const result = LeadInput.safeParse(JSON.parse('{"email":"ada@example.com","constructor":{"prototype":{"x":1}}}'));
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['constructor'] });
  });
});

describe('LeadInput: text fields', () => {
  it('trims and collapses inner whitespace', () => {
    expect(ok(LeadInput.safeParse(lead({ first_name: '  Ada   Augusta  ', company: ' Acme  Corp ' })))).toMatchObject({
      first_name: 'Ada Augusta',
      company: 'Acme Corp',
    });
  });

  it.each([
    ['CR', 'Ada\rLovelace'],
    ['LF', 'Ada\nBcc: x@y.com'],
    ['CRLF', 'Ada\r\nLovelace'],
    ['tab', 'Ada\tLovelace'],
    ['NUL', 'Ada\u0000'],
    ['ESC', '\u001b[31mAda'],
    ['DEL', 'Ada\u007f'],
  ])('refuses a control character in a name (%s)', (_label, name) => {
    const result = LeadInput.safeParse(lead({ first_name: name }));
    expect(issues(result)).toEqual(['first_name: custom']);
    expect(result.error?.issues[0]?.message).toMatch(/control characters/);
  });

  it('refuses control characters in every single-line field', () => {
    expect(
      issues(LeadInput.safeParse(lead({ last_name: 'a\nb', company: 'a\rb', source: 'a\u0000b', phone: '555\n0100' }))),
    ).toEqual(['last_name: custom', 'company: custom', 'phone: custom', 'source: custom']);
  });

  it.each([
    ['lone high surrogate', 'Ada\uD800'],
    ['lone high surrogate in the middle', 'A\uD83Dda'],
    ['lone low surrogate', '\uDC00Ada'],
    ['reversed pair', 'Ada\uDE00\uD83D'],
  ])('refuses ill-formed UTF-16 (%s)', (_label, name) => {
    const result = LeadInput.safeParse(lead({ last_name: name }));
    expect(issues(result)).toEqual(['last_name: custom']);
    expect(result.error?.issues[0]?.message).toMatch(/lone surrogate/);
  });

  it('accepts well-formed non-ASCII names: accents, CJK, emoji (surrogate pairs)', () => {
    expect(ok(LeadInput.safeParse(lead({ first_name: 'Zoë 😀', last_name: '李', company: 'Ünïcode GmbH' })))).toMatchObject({
      first_name: 'Zoë 😀',
      last_name: '李',
      company: 'Ünïcode GmbH',
    });
  });

  it('enforces the length limits (names 100, company 200, source 100)', () => {
    expect(ok(LeadInput.safeParse(lead({ first_name: 'a'.repeat(100), company: 'c'.repeat(200) })))).toMatchObject({
      first_name: 'a'.repeat(100),
    });
    expect(
      issues(LeadInput.safeParse(lead({ first_name: 'a'.repeat(101), company: 'c'.repeat(201), source: 's'.repeat(101) }))),
    ).toEqual(['first_name: too_big', 'company: too_big', 'source: too_big']);
  });
});

describe('LeadInput: phone', () => {
  it.each(['+44 (20) 7946-0000', '555.010.0000', '555/0100', '+1 555 0100', '123', ''])('accepts %j', (phone) => {
    expect(ok(LeadInput.safeParse(lead({ phone }))).phone).toBe(phone);
  });

  it.each(['abc', '555-CALL-NOW', '12', '+1 555 0100 ext. 5', '555#0100', '+', '555_0100'])('refuses %j', (phone) => {
    const result = LeadInput.safeParse(lead({ phone }));
    expect(issues(result)).toEqual(['phone: custom']);
    expect(result.error?.issues[0]?.message).toMatch(/digits/);
  });

  it('refuses a phone over 40 characters', () => {
    expect(issues(LeadInput.safeParse(lead({ phone: '1'.repeat(41) })))).toContain('phone: too_big');
  });
});

describe('LeadInput: stage', () => {
  it.each([...LEAD_STAGES])('accepts %s', (stage) => {
    expect(ok(LeadInput.safeParse(lead({ stage }))).stage).toBe(stage);
  });

  it.each(['won', 'NEW', 'New', '', ' new'])('refuses %j', (stage) => {
    expect(issues(LeadInput.safeParse(lead({ stage })))).toEqual(['stage: invalid_value']);
  });
});

describe('LeadInput: tags', () => {
  it('lower-cases, trims, de-duplicates and sorts', () => {
    expect(ok(LeadInput.safeParse(lead({ tags: ['VIP', 'b', ' vip ', 'A', 'a', 'Vip'] }))).tags).toEqual(['a', 'b', 'vip']);
  });

  it('accepts an empty list', () => {
    expect(ok(LeadInput.safeParse(lead({ tags: [] }))).tags).toEqual([]);
  });

  it('accepts 50 tags and refuses 51', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect(ok(LeadInput.safeParse(lead({ tags: fifty }))).tags).toHaveLength(50);
    const result = LeadInput.safeParse(lead({ tags: [...fifty, 't50'] }));
    expect(issues(result)).toEqual(['tags: too_big']);
    expect(result.error?.issues[0]?.message).toBe('at most 50 tags');
  });

  it('counts the limit before de-duplication (51 copies of one tag are refused)', () => {
    expect(issues(LeadInput.safeParse(lead({ tags: Array.from({ length: 51 }, () => 'x') })))).toEqual(['tags: too_big']);
  });

  it('refuses empty, blank, too long, non-string and control-character tags, each at its index', () => {
    expect(issues(LeadInput.safeParse(lead({ tags: ['', '   ', 'x'.repeat(65), 7, 'a\nb'] })))).toEqual([
      'tags.0: too_small',
      'tags.1: too_small',
      'tags.2: too_big',
      'tags.3: invalid_type',
      'tags.4: custom',
    ]);
  });
});

describe('LeadInput: custom fields', () => {
  it('accepts strings, finite numbers and booleans', () => {
    const custom = { plan: 'pro', seats: 12, ratio: -0.5, big: Number.MAX_SAFE_INTEGER, trial: true, note: '' };
    expect(ok(LeadInput.safeParse(lead({ custom }))).custom).toEqual(custom);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('refuses a number that is not finite (%s), though JSON cannot carry one', (_label, value) => {
    expect(issues(LeadInput.safeParse(lead({ custom: { score: value } })))).toEqual(['custom.score: invalid_union']);
  });

  it.each([
    ['an object', { nested: { deep: 1 } }],
    ['an array', { list: [1, 2] }],
    ['null', { gone: null }],
    ['a string over 1000 characters', { long: 'x'.repeat(1001) }],
    ['a string with CR/LF', { header: 'a\r\nBcc: x@y.com' }],
  ])('refuses a custom value that is %s', (_label, custom) => {
    const [key] = Object.keys(custom);
    expect(issues(LeadInput.safeParse(lead({ custom })))).toEqual([`custom.${key}: invalid_union`]);
  });

  it('accepts 50 custom fields and refuses 51', () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(ok(LeadInput.safeParse(lead({ custom: fifty }))).custom ?? {})).toHaveLength(50);
    const result = LeadInput.safeParse(lead({ custom: { ...fifty, k50: 50 } }));
    expect(issues(result)).toEqual(['custom: custom']);
    expect(result.error?.issues[0]?.message).toBe('at most 50 custom fields');
  });

  it.each(['constructor', 'prototype'])('refuses the reserved key %s', (key) => {
    const result = LeadInput.safeParse(JSON.parse(`{"email":"ada@example.com","custom":{"${key}":"x"}}`));
    expect(issues(result)).toEqual([`custom.${key}: invalid_key`]);
  });

  it('never lets a __proto__ key in custom through, nor pollute any prototype', () => {
    // JSON.parse makes "__proto__" an own property. zod drops an own __proto__ key from a
    // record's output before the key schema runs; the HTTP layer refuses it even earlier.
    const body: unknown = JSON.parse('{"email":"ada@example.com","custom":{"__proto__":{"polluted":true},"plan":"pro"}}');
    const result = LeadInput.safeParse(body);
    if (result.success) {
      const custom = result.data.custom ?? {};
      expect(Object.hasOwn(custom, '__proto__')).toBe(false);
      expect(Object.getPrototypeOf(custom)).toBe(Object.prototype);
      expect((custom as Record<string, unknown>).polluted).toBeUndefined();
      expect(custom).toEqual({ plan: 'pro' });
    } else {
      expect(issues(result)).toEqual(['custom.__proto__: invalid_key']);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each(['1st', '_private', 'has space', 'a'.repeat(65), 'emoji😀', ''])('refuses the key %j', (key) => {
    expect(issues(LeadInput.safeParse(lead({ custom: { [key]: 1 } })))).toEqual([`custom.${key}: invalid_key`]);
  });

  it('refuses a custom that is not an object', () => {
    expect(issues(LeadInput.safeParse(lead({ custom: ['a'] })))).toEqual(['custom: invalid_type']);
    expect(issues(LeadInput.safeParse(lead({ custom: 'a=1' })))).toEqual(['custom: invalid_type']);
  });
});

describe('LeadInput: every problem is reported at once', () => {
  it('a body with 3 bad fields yields 3 issues, one per field', () => {
    const result = LeadInput.safeParse({ email: 'not-an-email', phone: 'call me', stage: 'won' });
    expect(issues(result)).toEqual(['email: invalid_format', 'phone: custom', 'stage: invalid_value']);
    for (const issue of result.error?.issues ?? []) expect(issue.message).toEqual(expect.any(String));
  });

  it('a missing email, bad fields and an unknown field are all reported together', () => {
    expect(
      issues(LeadInput.safeParse({ first_name: 'a\nb', tags: ['ok', ''], custom: { a: {} }, unsubscribed: 1, extra: true })).sort(),
    ).toEqual([
      ': unrecognized_keys',
      'email: invalid_type',
      'first_name: custom',
      'tags.1: too_small',
      'custom.a: invalid_union',
      'unsubscribed: invalid_type',
    ].sort());
  });
});

describe('LeadPatch', () => {
  it('refuses an empty patch', () => {
    const result = LeadPatch.safeParse({});
    expect(issues(result)).toEqual([': custom']);
    expect(result.error?.issues[0]?.message).toBe('a patch must change at least one field');
  });

  it('accepts any single field, normalized like a whole lead', () => {
    expect(ok(LeadPatch.safeParse({ stage: 'qualified' }))).toEqual({ stage: 'qualified' });
    expect(ok(LeadPatch.safeParse({ email: ' Ada@Example.com ' }))).toEqual({ email: 'ada@example.com' });
    expect(ok(LeadPatch.safeParse({ tags: ['B', 'a', 'b'] }))).toEqual({ tags: ['a', 'b'] });
  });

  it('accepts null to clear an optional field, and keeps the null', () => {
    expect(ok(LeadPatch.safeParse({ phone: null, company: null, tags: null, custom: null, stage: null }))).toEqual({
      phone: null,
      company: null,
      tags: null,
      custom: null,
      stage: null,
    });
  });

  it('does not allow clearing the email', () => {
    expect(issues(LeadPatch.safeParse({ email: null }))).toEqual(['email: invalid_type']);
  });

  it('refuses unknown fields, like LeadInput', () => {
    const result = LeadPatch.safeParse({ stage: 'new', score: 100 });
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['score'] });
  });

  it('validates each given field and lists every problem', () => {
    expect(issues(LeadPatch.safeParse({ email: 'nope', phone: 'abc', stage: 'won' }))).toEqual([
      'email: invalid_format',
      'phone: custom',
      'stage: invalid_value',
    ]);
  });

  it('a patch of only unknown fields is refused (unknown field and empty patch both reported)', () => {
    expect(issues(LeadPatch.safeParse({ nope: 1 }))).toEqual([': unrecognized_keys', ': custom']);
  });
});

describe('applyChange', () => {
  const change = (op: LeadChange['op'], fields: LeadChange['fields']): LeadChange => ({
    task_id: 'aaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbb',
    op,
    fields,
    received_at: '2026-01-01T00:00:00.000Z',
  });
  const current: LeadFields = LeadInput.parse({
    email: 'ada@example.com',
    first_name: 'Ada',
    company: 'Analytical Engines',
    phone: '555 0100',
    tags: ['vip'],
  });

  it('create on no lead yields the given fields (a copy)', () => {
    const fields = LeadInput.parse({ email: 'ada@example.com', company: 'A' });
    const next = applyChange(undefined, change('create', fields));
    expect(next).toEqual({ email: 'ada@example.com', company: 'A' });
    expect(next).not.toBe(fields);
  });

  it('replace yields exactly the new fields: absent ones are gone', () => {
    const next = applyChange(current, change('replace', LeadInput.parse({ email: 'new@example.com', last_name: 'Byron' })));
    expect(next).toEqual({ email: 'new@example.com', last_name: 'Byron' });
  });

  it('patch sets the given fields, keeps the others, and null clears', () => {
    const next = applyChange(current, change('patch', LeadPatch.parse({ stage: 'qualified', phone: null, tags: ['a'] })));
    expect(next).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
      company: 'Analytical Engines',
      stage: 'qualified',
      tags: ['a'],
    });
    expect(next).not.toHaveProperty('phone');
  });

  it('patch ignores undefined values (absent is not a clear)', () => {
    const next = applyChange(current, change('patch', { company: undefined, first_name: 'Augusta' }));
    expect(next).toMatchObject({ company: 'Analytical Engines', first_name: 'Augusta' });
  });

  it('patch clearing a field that is not set is harmless', () => {
    expect(applyChange(current, change('patch', LeadPatch.parse({ source: null })))).toEqual(current);
  });

  it('a duplicate create merges into the existing lead like a patch and never erases fields', () => {
    const next = applyChange(current, change('create', LeadInput.parse({ email: 'ada@example.com', company: 'Babbage & Co' })));
    expect(next).toEqual({ ...current, company: 'Babbage & Co' });
  });

  it('never mutates the current fields', () => {
    const before = structuredClone(current);
    applyChange(current, change('patch', LeadPatch.parse({ phone: null, company: 'X' })));
    applyChange(current, change('create', LeadInput.parse({ email: 'ada@example.com', company: 'Y' })));
    applyChange(current, change('replace', LeadInput.parse({ email: 'z@example.com' })));
    expect(current).toEqual(before);
  });
});
