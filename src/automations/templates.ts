import Handlebars from 'handlebars';
import type { LeadView } from '../domain/lead.js';
import type { RenderableTemplate } from './schema.js';

// Automation email templates: Handlebars files, three per template in
// `<AUTOMATIONS_DIR>/templates/`: `<name>.subject.hbs`, `<name>.text.hbs`, `<name>.html.hbs`.
// The HTML part escapes every value (`{{first_name}}`); the subject and text parts are
// plain text and are not HTML-escaped. Only Handlebars' built-in helpers are allowed.

export const TEMPLATE_PARTS = ['subject', 'text', 'html'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

/** Names a template may use; anything else is a typo that would render as empty. */
export const TEMPLATE_VARIABLES = [
  'email', 'first_name', 'last_name', 'company', 'phone', 'source', 'stage', 'tags', 'custom', 'score',
  'unsubscribe_url', 'automation_name',
] as const;

const BUILT_IN_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup']);
const hbs = Handlebars.create();

export interface EmailContext {
  email: string;
  first_name?: string | undefined;
  last_name?: string | undefined;
  company?: string | undefined;
  phone?: string | undefined;
  source?: string | undefined;
  stage: string;
  tags: string[];
  custom: Record<string, string | number | boolean>;
  score: number;
  unsubscribe_url: string;
  automation_name: string;
}

export function emailContext(lead: LeadView, unsubscribeUrl: string, automationName: string): EmailContext {
  return {
    email: lead.email,
    first_name: lead.first_name,
    last_name: lead.last_name,
    company: lead.company,
    phone: lead.phone,
    source: lead.source,
    stage: lead.stage,
    tags: lead.tags ?? [],
    custom: lead.custom ?? {},
    score: lead.score,
    unsubscribe_url: unsubscribeUrl,
    automation_name: automationName,
  };
}

/** Problems with one template part: syntax, unknown variables, a missing unsubscribe link. */
export function checkTemplatePart(part: TemplatePart, source: string): string[] {
  let program: hbs.AST.Program;
  try {
    program = hbs.parse(source);
    hbs.precompile(source, { knownHelpersOnly: true, strict: false });
  } catch (err) {
    return [`does not parse: ${(err as Error).message.split('\n')[0]}`];
  }
  const problems: string[] = [];
  const used = new Set<string>();
  collectVariables(program, used, false);
  const unknown = [...used].filter((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v));
  if (unknown.length > 0) {
    problems.push(`unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${TEMPLATE_VARIABLES.join(', ')})`);
  }
  if (part !== 'subject' && !used.has('unsubscribe_url')) problems.push('has no {{unsubscribe_url}} link');
  if (part === 'subject' && /[\r\n]/.test(source.trim())) problems.push('a subject is one line');
  return problems;
}

type AnyNode = { type: string; [key: string]: unknown };

/** Top-level names the template reads. Inside each/with blocks the context moves, so those are not checked. */
function collectVariables(node: unknown, used: Set<string>, movedContext: boolean): void {
  if (!node || typeof node !== 'object') return;
  const n = node as AnyNode;
  switch (n.type) {
    case 'Program':
      for (const statement of n.body as unknown[]) collectVariables(statement, used, movedContext);
      return;
    case 'MustacheStatement':
    case 'SubExpression':
    case 'BlockStatement': {
      const path = n.path as AnyNode;
      const params = (n.params as unknown[]) ?? [];
      const helper = path.type === 'PathExpression' && BUILT_IN_HELPERS.has(path.original as string);
      if (!helper) collectVariables(path, used, movedContext);
      for (const param of params) collectVariables(param, used, movedContext);
      for (const pair of ((n.hash as { pairs?: unknown[] } | undefined)?.pairs ?? []) as AnyNode[]) {
        collectVariables(pair.value, used, movedContext);
      }
      const moves = helper && (path.original === 'each' || path.original === 'with');
      collectVariables(n.program, used, movedContext || moves);
      collectVariables(n.inverse, used, movedContext);
      return;
    }
    case 'PathExpression': {
      const parts = n.parts as string[];
      if (movedContext || n.data || (n.depth as number) > 0 || parts.length === 0) return;
      if (n.original === 'this' || (n.original as string).startsWith('this.')) return;
      used.add(parts[0]!);
      return;
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
    case 'DecoratorBlock':
    case 'Decorator':
      used.add('(partials are not supported)');
      return;
    default:
      return;
  }
}

const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(source: string, escape: boolean): HandlebarsTemplateDelegate {
  const key = `${escape ? 'h' : 't'}:${source}`;
  let template = compiled.get(key);
  if (!template) {
    template = hbs.compile(source, { knownHelpersOnly: true, noEscape: !escape, strict: false });
    if (compiled.size > 500) compiled.clear();
    compiled.set(key, template);
  }
  return template;
}

/** Renders the three parts. The subject is folded onto one line (no header injection). */
export function renderTemplate(template: RenderableTemplate, context: EmailContext): RenderableTemplate {
  const subject = compile(template.subject, false)(context).replace(/\s+/g, ' ').trim().slice(0, 250);
  return {
    subject,
    text: compile(template.text, false)(context),
    html: compile(template.html, true)(context),
  };
}
