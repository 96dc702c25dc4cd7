import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCondition, describeCondition, type Condition } from '../../src/automations/conditions.js';
import { formatDuration, parseDuration, scaleDuration } from '../../src/automations/duration.js';
import { automationRunId, parseRunId, stableKey, stepTaskId } from '../../src/automations/ids.js';
import { AutomationLoadError, loadAutomations } from '../../src/automations/loader.js';
import { DefinitionSchema, StepSchema } from '../../src/automations/schema.js';
import { shownDefinition } from '../../src/automations/shown-definition.js';
import { webhookEnvNames } from '../../src/automations/webhook-secrets.js';
import { checkTemplatePart, emailContext, renderTemplate } from '../../src/automations/templates.js';
import { unsubscribeUrl, verifyUnsubscribeToken } from '../../src/automations/unsubscribe.js';
import { validateAutomations } from '../../src/automations/validate.js';
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { automationServiceFromConfig } from '../../src/api/compose.js';
import { loadConfig } from '../../src/config.js';
import { automationDepsFromConfig } from '../../worker/workers.js';
import { TASK_ID_PATTERN } from '../../src/domain/ids.js';
import type { LeadView } from '../../src/domain/lead.js';

// The definition format: every step type valid and invalid, conditions, templates, and
// the loader's messages, which must name the file, the step and the problem.

const lead = (extra: Partial<LeadView> = {}): LeadView => ({
  id: 'aaaaaaaaaaaaaaaaaaaa',
  email: 'ada@engines.example',
  first_name: 'Ada',
  company: 'Engines',
  tags: ['nurture', 'webinar'],
  custom: { industry: 'Manufacturing', seats: 40 },
  version: 3,
  score: 72,
  stage: 'new',
  crm: { status: 'synced', synced_version: 3 },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...extra,
});

const stepProblems = (step: unknown) => {
  const result = StepSchema.safeParse(step);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('steps', () => {
  const valid: Record<string, unknown> = {
    wait: { type: 'wait', duration: '2d' },
    wait_for: { type: 'wait_for', until: { field: 'stage', op: 'eq', value: 'contacted' }, timeout: '3d', every: '6h', on_timeout: [{ type: 'stop' }] },
    send_email: { type: 'send_email', template: 'follow-up-1' },
    update_lead: { type: 'update_lead', set: { stage: 'qualified', custom: { plan: 'pro' } }, add_tags: ['Hot'], remove_tags: ['cold'] },
    crm_update: { type: 'crm_update' },
    score: { type: 'score', into: 'nurture_score', base: 'lead_score', rules: [{ if: { field: 'company', op: 'exists' }, points: 10 }] },
    branch: { type: 'branch', if: { any: [{ field: 'score', op: 'gte', value: 60 }, { not: { field: 'tags', op: 'contains', value: 'cold' } }] }, then: [{ type: 'crm_update' }] },
    webhook: { type: 'webhook', name: 'sales', url: '/webhooks/sales', payload: { reason: 'x', n: 1 }, headers: { 'X-Team': 'emea' } },
    'signed webhook': { type: 'webhook', name: 'sales', url: '/x', secret_env: 'SALES_WEBHOOK_SECRET', headers: { Authorization: 'Bearer ${SALES_TOKEN}' } },
    stop: { type: 'stop', reason: 'done' },
  };

  it.each(Object.entries(valid))('accepts a valid %s step', (_type, step) => {
    expect(stepProblems(step)).toEqual([]);
  });

  it('fills defaults and normalizes: wait_for every 1h, branch else [], tags lower-cased, score bounds 0-100', () => {
    const waitFor = StepSchema.parse({ type: 'wait_for', until: { field: 'score', op: 'gt', value: 50 }, timeout: '2d' });
    expect(waitFor).toMatchObject({ every: '1h', on_timeout: [] });
    expect(StepSchema.parse(valid.branch)).toMatchObject({ else: [] });
    expect(StepSchema.parse(valid.update_lead)).toMatchObject({ add_tags: ['hot'] });
    expect(StepSchema.parse(valid.score)).toMatchObject({ min: 0, max: 100 });
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['unknown type', { type: 'sleep', duration: '2d' }, /type must be one of wait, wait_for, send_email/],
    ['wait without duration', { type: 'wait' }, /duration/],
    ['wait with a bad duration', { type: 'wait', duration: '2 days' }, /"2 days" is not a duration/],
    ['wait too short', { type: 'wait', duration: '10ms' }, /between 1s and 365d/],
    ['wait with an unknown key', { type: 'wait', duration: '1d', until: 'x' }, /until/],
    ['wait_for without timeout', { type: 'wait_for', until: { field: 'stage', op: 'eq', value: 'contacted' } }, /timeout/],
    ['wait_for polling too often', { type: 'wait_for', until: { field: 'score', op: 'gt', value: 1 }, timeout: '30d', every: '1m' }, /every: would look at the lead 43200 times/],
    ['send_email without template', { type: 'send_email' }, /template/],
    ['send_email with a bad template name', { type: 'send_email', template: 'Follow Up' }, /lower-case letters/],
    ['update_lead with nothing to do', { type: 'update_lead' }, /needs set, add_tags or remove_tags/],
    ['update_lead with an unknown field', { type: 'update_lead', set: { stge: 'qualified' } }, /set: Unrecognized key: "stge"/],
    ['update_lead with a bad stage', { type: 'update_lead', set: { stage: 'hot' } }, /set.stage/],
    ['update_lead changing email', { type: 'update_lead', set: { email: 'x@example.com' } }, /set.email: an automation does not change/],
    ['update_lead resubscribing', { type: 'update_lead', set: { unsubscribed: false } }, /never subscribe one again/],
    ['crm_update with options', { type: 'crm_update', force: true }, /force/],
    ['score without rules', { type: 'score', into: 'x', rules: [] }, /rules/],
    ['score into a bad key', { type: 'score', into: '1x', rules: [{ if: { field: 'score', op: 'gt', value: 1 }, points: 1 }] }, /into names a custom field/],
    ['score with min above max', { type: 'score', into: 'x', min: 50, max: 10, rules: [{ if: { field: 'score', op: 'gt', value: 1 }, points: 1 }] }, /min must not be above max/],
    ['branch without if', { type: 'branch', then: [] }, /if/],
    ['branch with a bad nested step', { type: 'branch', if: { field: 'score', op: 'gt', value: 1 }, then: [{ type: 'wait', duration: 'soon' }] }, /then.0.duration: "soon" is not a duration/],
    ['webhook with a bad url', { type: 'webhook', name: 'sales', url: 'ftp://x' }, /url is an http\(s\) URL/],
    ['webhook overriding Idempotency-Key', { type: 'webhook', name: 'sales', url: '/x', headers: { 'Idempotency-Key': 'mine' } }, /must not set idempotency-key/],
    ['webhook with its secret written in', { type: 'webhook', name: 'sales', url: '/x', secret: 'whsec_abc' }, /secret: a secret is never written in an automation file.*secret_env/],
    ['webhook with a credential header value written in', { type: 'webhook', name: 'sales', url: '/x', headers: { Authorization: 'Bearer abc123' } }, /headers.Authorization: Authorization holds a credential/],
    ['webhook with an API key header written in', { type: 'webhook', name: 'sales', url: '/x', headers: { 'X-Api-Key': 'abc123' } }, /X-Api-Key holds a credential/],
    ['webhook setting its own signature', { type: 'webhook', name: 'sales', url: '/x', headers: { 'Webhook-Signature': '${X}' } }, /must not set .*webhook-signature/],
    ['webhook naming no variable in secret_env', { type: 'webhook', name: 'sales', url: '/x', secret_env: 'whsec_abc' }, /secret_env names an environment variable/],
    ['stop with a huge reason', { type: 'stop', reason: 'x'.repeat(500) }, /reason/],
  ];

  it.each(invalid)('refuses %s', (_what, step, message) => {
    const problems = stepProblems(step);
    expect(problems.length, JSON.stringify(step)).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(message);
  });
});

describe('conditions', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown field', { field: 'stge', op: 'eq', value: 'new' }, /unknown field "stge"/],
    ['unknown op', { field: 'stage', op: 'is', value: 'new' }, /op must be one of/],
    ['unknown stage', { field: 'stage', op: 'in', value: ['new', 'hot'] }, /unknown stage "hot"/],
    ['number op on a string', { field: 'company', op: 'gt', value: 3 }, /gt compares numbers; company is a string/],
    ['string for a number', { field: 'score', op: 'eq', value: '60' }, /score is a number; got string/],
    ['eq on a list', { field: 'tags', op: 'eq', value: 'vip' }, /tags is a list: use contains/],
    ['in without a list', { field: 'source', op: 'in', value: 'ads' }, /in needs a list/],
    ['missing value', { field: 'score', op: 'gte' }, /gte needs a number/],
    ['empty all', { all: [] }, /`all` needs a non-empty list/],
    ['mixed keys', { all: [{ field: 'score', op: 'gt', value: 1 }], field: 'x' }, /`all` stands alone/],
    ['code instead of data', 'lead.score > 60', /a condition is an object/],
    ['an extra key', { field: 'score', op: 'gt', value: 1, eval: 'x' }, /unknown key eval/],
    ['a bad nested not', { not: { field: 'nope', op: 'exists' } }, /not.field: unknown field "nope"/],
  ];

  it.each(bad)('refuses %s', (_what, condition, message) => {
    const problems = stepProblems({ type: 'branch', if: condition });
    expect(problems.join('\n')).toMatch(message);
  });

  it('evaluates every op against a lead, case-insensitively for strings, without eval', () => {
    const l = lead();
    const check = (c: Condition) => evaluateCondition(c, l);
    expect(check({ field: 'stage', op: 'eq', value: 'NEW' })).toBe(true);
    expect(check({ field: 'stage', op: 'ne', value: 'new' })).toBe(false);
    expect(check({ field: 'score', op: 'gt', value: 71 })).toBe(true);
    expect(check({ field: 'score', op: 'gte', value: 72 })).toBe(true);
    expect(check({ field: 'score', op: 'lt', value: 72 })).toBe(false);
    expect(check({ field: 'score', op: 'lte', value: 72 })).toBe(true);
    expect(check({ field: 'tags', op: 'contains', value: 'Webinar' })).toBe(true);
    expect(check({ field: 'company', op: 'contains', value: 'gin' })).toBe(true);
    expect(check({ field: 'email', op: 'ends_with', value: '.example' })).toBe(true);
    expect(check({ field: 'email_domain', op: 'in', value: ['engines.example'] })).toBe(true);
    expect(check({ field: 'first_name', op: 'starts_with', value: 'ad' })).toBe(true);
    expect(check({ field: 'source', op: 'not_in', value: ['ads'] })).toBe(true); // missing field
    expect(check({ field: 'source', op: 'in', value: ['ads'] })).toBe(false);
    expect(check({ field: 'phone', op: 'exists' })).toBe(false);
    expect(check({ field: 'phone', op: 'exists', value: false })).toBe(true);
    expect(check({ field: 'custom.seats', op: 'gte', value: 40 })).toBe(true);
    expect(check({ field: 'custom.industry', op: 'eq', value: 'manufacturing' })).toBe(true);
    expect(check({ field: 'custom.constructor', op: 'exists' })).toBe(false);
    expect(check({ field: 'crm.status', op: 'eq', value: 'synced' })).toBe(true);
    expect(check({ all: [{ field: 'score', op: 'gt', value: 1 }, { not: { field: 'tags', op: 'contains', value: 'cold' } }] })).toBe(true);
    expect(check({ any: [{ field: 'score', op: 'gt', value: 99 }, { field: 'stage', op: 'eq', value: 'qualified' }] })).toBe(false);
  });

  it('describes conditions in one line', () => {
    expect(describeCondition({ field: 'stage', op: 'in', value: ['contacted', 'qualified'] })).toBe('stage in [contacted, qualified]');
    expect(describeCondition({ not: { field: 'score', op: 'gte', value: 60 } })).toBe('not(score >= 60)');
  });
});

describe('definitions', () => {
  const base = { name: 'x', trigger: { event: 'lead.created' }, steps: [{ type: 'crm_update' }] };

  it('needs a condition for lead.updated, none for manual, and at least one step', () => {
    const problems = (d: unknown) => (DefinitionSchema.safeParse(d).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(problems(base)).toBe('');
    expect(problems({ ...base, trigger: { event: 'lead.updated' } })).toMatch(/trigger.when: lead.updated needs a `when` condition/);
    expect(problems({ ...base, trigger: { event: 'manual', when: { field: 'score', op: 'gt', value: 1 } } })).toMatch(/a manual trigger takes no condition/);
    expect(problems({ ...base, trigger: { event: 'lead.deleted' } })).toMatch(/event must be one of lead.created, lead.updated, manual/);
    expect(problems({ ...base, steps: [] })).toMatch(/at least one step/);
    expect(problems({ ...base, owner: 'me' })).toMatch(/owner/);
  });

  it('is shown by the API with the names of webhook headers, never their values', () => {
    const hook = { type: 'webhook', name: 'sales', url: '/x', headers: { Authorization: 'Bearer ${SALES_TOKEN}', 'X-Team': 'emea-private-value' } };
    const definition = DefinitionSchema.parse({ ...base, steps: [hook, { type: 'branch', if: { field: 'score', op: 'gt', value: 1 }, then: [hook] }] });
    const shown = shownDefinition(definition);
    expect(JSON.stringify(shown)).not.toMatch(/SALES_TOKEN|emea-private-value/);
    expect(shown.steps[0]).toMatchObject({ type: 'webhook', headers: ['Authorization', 'X-Team'] });
    expect((shown.steps[1] as { then: unknown[] }).then[0]).toMatchObject({ headers: ['Authorization', 'X-Team'] });
    // The loaded definition itself keeps them: runs need them.
    expect(definition.steps[0]).toMatchObject({ headers: { 'X-Team': 'emea-private-value' } });
  });
});

describe('durations and ids', () => {
  it('parses and formats durations, and scales them for demos', () => {
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1d12h')).toBe(129_600_000);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('2 days')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(scaleDuration(172_800_000, 0.001)).toBe(172_800);
    expect(scaleDuration(10, 0.00001)).toBe(1);
  });

  it('builds run ids a lead prefix finds, and step task ids shaped like every task id', () => {
    const runId = automationRunId('aaaaaaaaaaaaaaaaaaaa', 'welcome-nurture', 'bbbbbbbbbbbb');
    expect(parseRunId(runId)).toEqual({ leadId: 'aaaaaaaaaaaaaaaaaaaa', automationId: 'welcome-nurture', key: 'bbbbbbbbbbbb' });
    expect(runId.startsWith('automation-aaaaaaaaaaaaaaaaaaaa-')).toBe(true);
    const taskId = stepTaskId('aaaaaaaaaaaaaaaaaaaa', runId, '6.then.1');
    expect(taskId).toMatch(TASK_ID_PATTERN);
    expect(stepTaskId('aaaaaaaaaaaaaaaaaaaa', runId, '6.then.1')).toBe(taskId);
    expect(stepTaskId('aaaaaaaaaaaaaaaaaaaa', runId, '6.then.2')).not.toBe(taskId);
    expect(stableKey('x')).toMatch(/^[a-z2-7]{12}$/);
  });
});

describe('templates', () => {
  it('escapes user fields in the HTML part only, and folds the subject onto one line', () => {
    const template = {
      subject: 'Hi {{first_name}} from {{company}}',
      text: 'Hi {{first_name}} <{{company}}> {{unsubscribe_url}}',
      html: '<p>Hi {{first_name}} at {{company}}</p><a href="{{unsubscribe_url}}">x</a>',
    };
    const view = lead({ first_name: '<script>alert(1)</script>', company: 'Smith & "Sons"' });
    const out = renderTemplate(template, emailContext(view, 'https://x.example/u?lead=a&token=b', 'Nurture'));
    expect(out.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out.html).toContain('Smith &amp; &quot;Sons&quot;');
    expect(out.html).toContain('href="https://x.example/u?lead&#x3D;a&amp;token&#x3D;b"');
    expect(out.html).not.toContain('<script>');
    expect(out.text).toContain('Hi <script>alert(1)</script> <Smith & "Sons">');
    expect(out.subject).toBe('Hi <script>alert(1)</script> from Smith & "Sons"');
  });

  it('finds unknown variables, a missing unsubscribe link, syntax errors and partials', () => {
    expect(checkTemplatePart('text', 'Hi {{frist_name}} {{unsubscribe_url}}')).toEqual([expect.stringMatching(/unknown variable frist_name/)]);
    expect(checkTemplatePart('html', '<p>Hi {{first_name}}</p>')).toEqual(['has no {{unsubscribe_url}} link']);
    expect(checkTemplatePart('text', 'Hi {{#if first_name}}{{first_name}}')[0]).toMatch(/does not parse/);
    expect(checkTemplatePart('text', '{{> footer}} {{unsubscribe_url}}')[0]).toMatch(/partials are not supported/);
    expect(checkTemplatePart('subject', '{{#each tags}}{{this}} {{/each}}for {{company}}')).toEqual([]);
  });

  it('signs unsubscribe links per lead', () => {
    const url = new URL(unsubscribeUrl('http://127.0.0.1:3000/unsubscribe', 'k', 'aaaaaaaaaaaaaaaaaaaa'));
    const token = url.searchParams.get('token')!;
    expect(url.searchParams.get('lead')).toBe('aaaaaaaaaaaaaaaaaaaa');
    expect(verifyUnsubscribeToken('k', 'aaaaaaaaaaaaaaaaaaaa', token)).toBe(true);
    expect(verifyUnsubscribeToken('k', 'baaaaaaaaaaaaaaaaaaa', token)).toBe(false);
    expect(verifyUnsubscribeToken('other', 'aaaaaaaaaaaaaaaaaaaa', token)).toBe(false);
  });
});

describe('the loader', () => {
  const TEMPLATE = { subject: 'Hello {{first_name}}', text: 'Hi {{unsubscribe_url}}', html: '<a href="{{unsubscribe_url}}">u</a>' };

  function folder(files: Record<string, string>, templates: Record<string, typeof TEMPLATE> = { hello: TEMPLATE }): string {
    const dir = mkdtempSync(join(tmpdir(), 'automations-'));
    mkdirSync(join(dir, 'templates'));
    for (const [name, parts] of Object.entries(templates)) {
      for (const [part, source] of Object.entries(parts)) writeFileSync(join(dir, 'templates', `${name}.${part}.hbs`), source);
    }
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  const problemsOf = (dir: string): string[] => {
    try {
      loadAutomations(dir);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(AutomationLoadError);
      return (err as AutomationLoadError).problems;
    }
  };

  it('lists the environment variables webhook steps read, with the automations that name them', () => {
    const hook = (extra: string) => `  - { type: webhook, name: sales, url: /x, ${extra} }\n`;
    const dir = folder({
      'signed.yaml': `name: s\ntrigger: { event: manual }\nsteps:\n${hook('secret_env: SALES_WEBHOOK_SECRET')}  - type: branch\n    if: { field: score, op: gt, value: 1 }\n    then:\n    ${hook("headers: { Authorization: 'Bearer ${SALES_TOKEN}', X-Both: '${A}-${B}' }")}`,
      'plain.yaml': `name: p\ntrigger: { event: manual }\nsteps:\n${hook('secret_env: SALES_WEBHOOK_SECRET')}`,
    });
    const names = webhookEnvNames(loadAutomations(dir).list());
    expect(Object.fromEntries(names)).toEqual({ SALES_WEBHOOK_SECRET: ['plain', 'signed'], SALES_TOKEN: ['signed'], A: ['signed'], B: ['signed'] });
    expect(webhookEnvNames(loadAutomations('automations').list()).size).toBe(0);
  });

  it('loads the shipped examples, pinned with their templates and a sha256', () => {
    const catalog = loadAutomations('automations');
    expect(catalog.list().map((a) => a.id).sort()).toEqual(['qualified-handoff', 'welcome-nurture']);
    const nurture = catalog.get('welcome-nurture')!;
    expect(nurture.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(nurture.templates).sort()).toEqual(['follow-up-1', 'nurture-welcome']);
    expect(validateAutomations('automations')).toMatchObject({ ok: true });
  });

  it('names the file, the step and the problem: an unknown template', () => {
    const dir = folder({
      'nurture.yaml': 'name: N\ntrigger: { event: manual }\nsteps:\n  - type: wait\n    duration: 1d\n  - type: branch\n    if: { field: score, op: gte, value: 50 }\n    then:\n      - type: send_email\n        template: folow-up\n',
    });
    expect(problemsOf(dir)).toEqual([
      expect.stringMatching(/^.*nurture\.yaml: steps\[1\]\.then\[0\] \(send_email\): template: unknown template "folow-up" \(templates: hello\)$/),
    ]);
  });

  it('names the step of a schema problem, and lists every problem of every file', () => {
    const dir = folder({
      'a.yaml': 'name: A\ntrigger: { event: manual }\nsteps:\n  - type: wait\n    duration: 1d\n  - type: wait_for\n    until: { field: stge, op: eq, value: x }\n    timeout: 1d\n',
      'b.json': JSON.stringify({ name: 'B', trigger: { event: 'manual' }, steps: [{ type: 'teleport' }] }),
      'c.yaml': 'name: [unclosed\n',
      'Bad_Name.yaml': 'name: x',
    });
    const problems = problemsOf(dir);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/a\.yaml: steps\[1\] \(wait_for\): until\.field: unknown field "stge"/),
        expect.stringMatching(/b\.json: steps\[0\] \(teleport\): type: type must be one of/),
        expect.stringMatching(/c\.yaml: not valid YAML/),
        expect.stringMatching(/Bad_Name\.yaml: the file name is the automation id/),
      ]),
    );
    expect(problems).toHaveLength(4);
    const result = validateAutomations(dir);
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toMatch(/invalid automations in .* \(4 problems\)/);
  });

  it('refuses broken templates: a missing part, no unsubscribe link', () => {
    const dir = folder({}, { hello: TEMPLATE, broken: { ...TEMPLATE, html: '<p>{{first_name}}</p>' } });
    writeFileSync(join(dir, 'templates', 'half.subject.hbs'), 'x');
    const problems = problemsOf(dir);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/broken\.html\.hbs: has no \{\{unsubscribe_url\}\} link/),
        expect.stringMatching(/template "half" lacks half\.text\.hbs, half\.html\.hbs/),
      ]),
    );
  });

  it('pins a definition to its content: editing a template changes the hash', () => {
    const definition = 'name: H\ntrigger: { event: manual }\nsteps:\n  - type: send_email\n    template: hello\n';
    const dir = folder({ 'h.yaml': definition });
    const first = loadAutomations(dir).get('h')!;
    writeFileSync(join(dir, 'templates', 'hello.text.hbs'), 'Changed {{unsubscribe_url}}');
    const second = loadAutomations(dir).get('h')!;
    expect(second.hash).not.toBe(first.hash);
    expect(first.templates.hello!.text).toBe('Hi {{unsubscribe_url}}');
    expect(second.templates.hello!.text).toBe('Changed {{unsubscribe_url}}');
    expect(readFileSync(join(dir, 'h.yaml'), 'utf8')).toBe(definition);
  });

  it('matches lead.updated when its condition becomes true, not while it stays true', () => {
    const catalog = loadAutomations('automations');
    const qualified = lead({ stage: 'qualified' });
    expect(catalog.match('lead.updated', lead(), qualified).map((a) => a.id)).toEqual(['qualified-handoff']);
    expect(catalog.match('lead.updated', qualified, { ...qualified, company: 'Other' })).toEqual([]);
    expect(catalog.match('lead.updated', lead(), lead({ stage: 'qualified', tags: ['nurture-qualified'] }))).toEqual([]);
    expect(catalog.match('lead.created', null, lead()).map((a) => a.id)).toEqual(['welcome-nurture']);
    expect(catalog.match('lead.created', null, lead({ tags: [] }))).toEqual([]);
  });

  it('treats a missing folder as no automations', () => {
    const catalog = loadAutomations(join(tmpdir(), 'no-such-automations-folder'));
    expect(catalog.list()).toEqual([]);
    expect(catalog.note).toMatch(/no automation folder/);
  });
});

describe('start-up', () => {
  it('stops the API and the worker on an invalid folder, naming the file, the step and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'automations-'));
    writeFileSync(join(dir, 'broken.yaml'), 'name: B\ntrigger: { event: manual }\nsteps:\n  - type: wait\n    duration: forever\n');
    const config = loadConfig({ AUTOMATIONS_DIR: dir });
    const expected = /broken\.yaml: steps\[0\] \(wait\): duration: "forever" is not a duration/;
    expect(() => automationServiceFromConfig(config, {} as Client)).toThrow(expected);
    expect(() => automationDepsFromConfig(config, {} as NativeConnection)).toThrow(AutomationLoadError);
  });
});
