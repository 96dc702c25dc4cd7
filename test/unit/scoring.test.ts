import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEAD_STAGES, type LeadFields } from '../../src/domain/lead.js';
import { emailDomain, normalizeLead, scoreLead } from '../../src/domain/scoring.js';

describe('normalizeLead', () => {
  it('lower-cases and trims the email', () => {
    expect(normalizeLead({ email: '  Ada@Example.COM ' }).email).toBe('ada@example.com');
  });

  it.each([
    ['ada', 'Ada'],
    ['LOVELACE', 'Lovelace'],
    ["o'neil", "O'Neil"],
    ['JEAN-LUC', 'Jean-Luc'],
    ['mary ann', 'Mary Ann'],
    ['ÉMILE', 'Émile'],
    ['élodie', 'Élodie'],
  ])('title-cases a name typed in one case: %j -> %j', (input, expected) => {
    expect(normalizeLead({ email: 'a@example.com', first_name: input }).first_name).toBe(expected);
    expect(normalizeLead({ email: 'a@example.com', last_name: input }).last_name).toBe(expected);
  });

  it.each(['McDonald', 'van der Berg', 'DeVito', "O'Neil", 'Ada'])('leaves a mixed-case name as given: %j', (name) => {
    expect(normalizeLead({ email: 'a@example.com', last_name: name }).last_name).toBe(name);
  });

  it('leaves names without letters alone', () => {
    expect(normalizeLead({ email: 'a@example.com', first_name: '李', last_name: '' })).toMatchObject({ first_name: '李', last_name: '' });
  });

  it.each([
    ['+44 (20) 7946-0000', '+442079460000'],
    ['555 0100', '5550100'],
    ['555.010.0000', '5550100000'],
    ['  +1 555/0100', '+15550100'],
    ['1+555', '1555'],
    ['()', ''],
    ['', ''],
  ])('normalizes the phone to digits with an optional leading +: %j -> %j', (input, expected) => {
    expect(normalizeLead({ email: 'a@example.com', phone: input }).phone).toBe(expected);
  });

  it.each([
    ['Referral', 'referral'],
    ['Demo Request', 'demo_request'],
    ['cold-outreach', 'cold_outreach'],
    ['COLD - OUTREACH', 'cold_outreach'],
    ['website', 'website'],
  ])('snake-cases the source: %j -> %j', (input, expected) => {
    expect(normalizeLead({ email: 'a@example.com', source: input }).source).toBe(expected);
  });

  it('trims the company', () => {
    expect(normalizeLead({ email: 'a@example.com', company: '  Acme  ' }).company).toBe('Acme');
  });

  it('adds no fields that were absent and keeps the others untouched', () => {
    const input: LeadFields = { email: 'a@example.com', stage: 'qualified', tags: ['vip'], custom: { seats: 3 }, unsubscribed: true };
    expect(normalizeLead(input)).toEqual(input);
  });

  it('does not mutate its input and is idempotent', () => {
    const input: LeadFields = { email: ' A@Example.com', first_name: 'ada', phone: '+1 (555) 0100', source: 'Demo Request' };
    const before = structuredClone(input);
    const once = normalizeLead(input);
    expect(input).toEqual(before);
    expect(normalizeLead(once)).toEqual(once);
  });
});

describe('emailDomain', () => {
  it('is the part after the last @', () => {
    expect(emailDomain('ada@example.com')).toBe('example.com');
    expect(emailDomain('ada@mail.example.co.uk')).toBe('mail.example.co.uk');
  });
});

describe('scoreLead', () => {
  const corporate = 'ada@acme-corp.example';
  const freemail = 'ada@gmail.com';

  it('gives an email-only freemail lead the base score', () => {
    expect(scoreLead({ email: freemail })).toBe(10);
  });

  it('gives a corporate domain 15 points more than a freemail one', () => {
    expect(scoreLead({ email: corporate }) - scoreLead({ email: freemail })).toBe(15);
  });

  it.each(['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'icloud.com', 'proton.me', 'web.de'])(
    'treats %s as freemail',
    (domain) => {
      expect(scoreLead({ email: `ada@${domain}` })).toBe(10);
    },
  );

  it('treats a sub-domain of a freemail provider as corporate (exact domain match)', () => {
    expect(scoreLead({ email: 'ada@mail.gmail.com' })).toBe(25);
  });

  it('adds points for each completed field', () => {
    const base = scoreLead({ email: freemail });
    expect(scoreLead({ email: freemail, first_name: 'Ada' }) - base).toBe(5);
    expect(scoreLead({ email: freemail, last_name: 'Lovelace' }) - base).toBe(5);
    expect(scoreLead({ email: freemail, company: 'Acme' }) - base).toBe(15);
    expect(scoreLead({ email: freemail, phone: '5550100' }) - base).toBe(10);
  });

  it('does not count empty strings as completed fields', () => {
    expect(scoreLead({ email: freemail, first_name: '', last_name: '', company: '', phone: '' })).toBe(10);
  });

  it.each([
    ['referral', 25],
    ['demo_request', 25],
    ['webinar', 15],
    ['event', 15],
    ['website', 10],
    ['content', 10],
    ['ads', 5],
    ['cold_outreach', 0],
    ['carrier_pigeon', 0],
  ])('adds source points: %s -> +%i', (source, points) => {
    expect(scoreLead({ email: corporate, source }) - scoreLead({ email: corporate })).toBe(points);
  });

  it('expects a normalized source: "Demo Request" earns nothing until normalizeLead snake-cases it', () => {
    const raw: LeadFields = { email: corporate, source: 'Demo Request' };
    expect(scoreLead(raw)).toBe(scoreLead({ email: corporate }));
    expect(scoreLead(normalizeLead(raw))).toBe(scoreLead({ email: corporate }) + 25);
  });

  it.each([
    ['new', 0],
    ['contacted', 5],
    ['qualified', 15],
    ['customer', 20],
  ] as const)('adds stage points: %s -> +%i', (stage, points) => {
    const full: LeadFields = { email: corporate, first_name: 'Ada', company: 'Acme' };
    expect(scoreLead({ ...full, stage }) - scoreLead(full)).toBe(points);
  });

  it('an unqualified stage takes 40 points off, floored at 0', () => {
    const full: LeadFields = { email: corporate, first_name: 'Ada', last_name: 'L', company: 'Acme', phone: '1' };
    expect(scoreLead(full)).toBe(60);
    expect(scoreLead({ ...full, stage: 'unqualified' })).toBe(20);
    expect(scoreLead({ email: freemail, stage: 'unqualified' })).toBe(0);
  });

  it('the enterprise tag adds 10 points; other tags add nothing', () => {
    expect(scoreLead({ email: corporate, tags: ['enterprise'] }) - scoreLead({ email: corporate })).toBe(10);
    expect(scoreLead({ email: corporate, tags: ['vip', 'smb'] })).toBe(scoreLead({ email: corporate }));
  });

  it('unsubscribing takes 20 points off, floored at 0', () => {
    expect(scoreLead({ email: corporate, company: 'Acme', unsubscribed: true })).toBe(20);
    expect(scoreLead({ email: corporate, company: 'Acme', unsubscribed: false })).toBe(40);
    expect(scoreLead({ email: freemail, unsubscribed: true })).toBe(0);
  });

  it('is capped at 100', () => {
    const best: LeadFields = {
      email: corporate,
      first_name: 'Ada',
      last_name: 'Lovelace',
      company: 'Acme',
      phone: '5550100',
      source: 'referral',
      stage: 'customer',
      tags: ['enterprise'],
    };
    expect(scoreLead(best)).toBe(100);
  });

  const leadArb = fc.record(
    {
      email: fc.constantFrom(freemail, corporate, 'x@yahoo.com', 'ceo@bigco.example'),
      first_name: fc.constantFrom('', 'Ada'),
      last_name: fc.constantFrom('', 'Lovelace'),
      company: fc.constantFrom('', 'Acme'),
      phone: fc.constantFrom('', '5550100'),
      source: fc.constantFrom('referral', 'demo_request', 'webinar', 'event', 'website', 'content', 'ads', 'cold_outreach', 'other'),
      stage: fc.constantFrom(...LEAD_STAGES),
      tags: fc.subarray(['enterprise', 'vip', 'smb']),
      unsubscribed: fc.boolean(),
    },
    { requiredKeys: ['email'] },
  ) as fc.Arbitrary<LeadFields>;

  it('is always an integer within 0..100', () => {
    fc.assert(
      fc.property(leadArb, (lead) => {
        const score = scoreLead(lead);
        expect(Number.isInteger(score)).toBe(true);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(100);
      }),
      { numRuns: 500 },
    );
  });

  it('is monotonic: adding a company (or a name, or a phone) never lowers the score', () => {
    fc.assert(
      fc.property(leadArb, fc.constantFrom<'company' | 'first_name' | 'last_name' | 'phone'>('company', 'first_name', 'last_name', 'phone'), (lead, field) => {
        const without = { ...lead };
        delete without[field];
        expect(scoreLead({ ...without, [field]: 'Something' })).toBeGreaterThanOrEqual(scoreLead(without));
      }),
      { numRuns: 500 },
    );
  });

  it('is monotonic the other way: unsubscribing never raises the score', () => {
    fc.assert(
      fc.property(leadArb, (lead) => {
        expect(scoreLead({ ...lead, unsubscribed: true })).toBeLessThanOrEqual(scoreLead({ ...lead, unsubscribed: false }));
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic and does not mutate the lead', () => {
    fc.assert(
      fc.property(leadArb, (lead) => {
        const before = structuredClone(lead);
        expect(scoreLead(lead)).toBe(scoreLead(lead));
        expect(lead).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });
});
