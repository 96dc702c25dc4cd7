import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { LeadView } from '../domain/lead.js';
import { evaluateCondition } from './conditions.js';
import {
  AUTOMATION_ID,
  DefinitionSchema,
  NESTED_STEP_KEYS,
  TEMPLATE_NAME,
  type AutomationDefinition,
  type PinnedAutomation,
  type RenderableTemplate,
  type Step,
  type TriggerEvent,
} from './schema.js';
import { checkTemplatePart, TEMPLATE_PARTS } from './templates.js';

// Reads the automation folder: `*.yaml`, `*.yml` or `*.json` definitions (the file name is
// the automation id) and `templates/<name>.{subject,text,html}.hbs`. Everything is
// validated up front; one bad file stops start-up with every problem listed, each naming
// the file, the step and what is wrong.

export class AutomationLoadError extends Error {
  override name = 'AutomationLoadError';
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`invalid automations in ${dir} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export interface LoadedAutomation extends PinnedAutomation {
  /** The definition file, relative to the working directory. */
  file: string;
}

export interface AutomationCatalog {
  /** The folder, as an absolute path. */
  dir: string;
  /** When the folder does not exist, why there are no automations. */
  note?: string;
  list(): LoadedAutomation[];
  get(id: string): LoadedAutomation | undefined;
  /** The enabled automations a lead change starts (conditions true after, and for updates false before). */
  match(event: Exclude<TriggerEvent, 'manual'>, before: LeadView | null, after: LeadView): LoadedAutomation[];
}

const DEFINITION_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const MAX_STEPS = 200;
const MAX_DEPTH = 5;

export function loadAutomations(dirOption: string): AutomationCatalog {
  const dir = resolve(dirOption);
  const shown = (path: string) => relative(process.cwd(), path) || path;
  if (!existsSync(dir)) return catalog(dir, [], `no automation folder at ${shown(dir)}: no automations`);
  if (!statSync(dir).isDirectory()) throw new AutomationLoadError(shown(dir), [`${shown(dir)} is not a folder`]);

  const problems: string[] = [];
  const templates = loadTemplates(join(dir, 'templates'), shown, problems);
  const automations: LoadedAutomation[] = [];
  const seen = new Map<string, string>();

  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    const ext = extname(entry).toLowerCase();
    if (!DEFINITION_EXTENSIONS.has(ext) || !statSync(path).isFile()) continue;
    const file = shown(path);
    const id = basename(entry, extname(entry));
    if (!AUTOMATION_ID.test(id) || id.length > 48) {
      problems.push(`${file}: the file name is the automation id: lower-case letters, digits and single dashes, at most 48 (got "${id}")`);
      continue;
    }
    if (seen.has(id)) {
      problems.push(`${file}: automation id "${id}" is also defined by ${seen.get(id)}`);
      continue;
    }
    seen.set(id, file);

    const bytes = readFileSync(path);
    const raw = parseFile(file, ext, bytes.toString('utf8'), problems);
    if (raw === undefined) continue;
    const parsed = DefinitionSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${file}: ${describeIssue(raw, issue)}`);
      continue;
    }
    const definition = parsed.data;
    const before = problems.length;
    checkShape(definition, file, problems);
    const used = templatesUsed(definition.steps);
    const pinnedTemplates: Record<string, RenderableTemplate> = {};
    for (const [name, where] of used) {
      const template = templates.get(name);
      if (!template) {
        const known = [...templates.keys()].join(', ') || 'none';
        problems.push(`${file}: ${where} (send_email): template: unknown template "${name}" (templates: ${known})`);
      } else pinnedTemplates[name] = template.parts;
    }
    if (problems.length > before) continue;

    // The run's version: the definition file's bytes and those of every template it uses.
    const hash = createHash('sha256').update(bytes);
    for (const name of Object.keys(pinnedTemplates).sort()) {
      for (const part of TEMPLATE_PARTS) hash.update(`\0${name}.${part}\0`).update(templates.get(name)!.bytes[part]);
    }
    automations.push({ id, file, hash: hash.digest('hex'), definition, templates: pinnedTemplates });
  }

  if (problems.length > 0) throw new AutomationLoadError(shown(dir), problems);
  return catalog(dir, automations);
}

function catalog(dir: string, automations: LoadedAutomation[], note?: string): AutomationCatalog {
  const byId = new Map(automations.map((a) => [a.id, a]));
  return {
    dir,
    ...(note ? { note } : {}),
    list: () => [...byId.values()],
    get: (id) => byId.get(id),
    match(event, before, after) {
      return automations.filter(({ definition: { enabled, trigger } }) => {
        if (!enabled || trigger.event !== event) return false;
        if (!trigger.when) return true;
        if (!evaluateCondition(trigger.when, after)) return false;
        // lead.updated starts a run when its condition becomes true, not on every change.
        return event === 'lead.created' || !before || !evaluateCondition(trigger.when, before);
      });
    },
  };
}

function parseFile(file: string, ext: string, text: string, problems: string[]): unknown {
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      problems.push(`${file}: not valid JSON: ${(err as Error).message}`);
      return undefined;
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) problems.push(`${file}: not valid YAML: ${error.message.split('\n')[0]}`);
    return undefined;
  }
  return doc.toJS();
}

interface LoadedTemplate {
  parts: RenderableTemplate;
  bytes: Record<keyof RenderableTemplate, Buffer>;
}

function loadTemplates(dir: string, shown: (p: string) => string, problems: string[]): Map<string, LoadedTemplate> {
  const found = new Map<string, Partial<Record<keyof RenderableTemplate, Buffer>>>();
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir).sort()) {
      const match = /^(.+)\.(subject|text|html)\.hbs$/.exec(entry);
      if (!match) {
        problems.push(`${shown(join(dir, entry))}: not a template part (expected <name>.subject.hbs, <name>.text.hbs or <name>.html.hbs)`);
        continue;
      }
      const [, name, part] = match as unknown as [string, string, keyof RenderableTemplate];
      if (!TEMPLATE_NAME.test(name)) {
        problems.push(`${shown(join(dir, entry))}: template names use lower-case letters, digits and single dashes`);
        continue;
      }
      const parts = found.get(name) ?? {};
      parts[part] = readFileSync(join(dir, entry));
      found.set(name, parts);
    }
  }
  const templates = new Map<string, LoadedTemplate>();
  for (const [name, parts] of found) {
    const missing = TEMPLATE_PARTS.filter((p) => !parts[p]);
    if (missing.length > 0) {
      problems.push(`${shown(join(dir, name))}: template "${name}" lacks ${missing.map((p) => `${name}.${p}.hbs`).join(', ')}`);
      continue;
    }
    let ok = true;
    for (const part of TEMPLATE_PARTS) {
      for (const problem of checkTemplatePart(part, parts[part]!.toString('utf8'))) {
        problems.push(`${shown(join(dir, `${name}.${part}.hbs`))}: ${problem}`);
        ok = false;
      }
    }
    if (!ok) continue;
    const bytes = parts as Record<keyof RenderableTemplate, Buffer>;
    templates.set(name, {
      bytes,
      parts: { subject: bytes.subject.toString('utf8'), text: bytes.text.toString('utf8'), html: bytes.html.toString('utf8') },
    });
  }
  return templates;
}

/** Every template a definition sends, with where it is first used. */
function templatesUsed(steps: Step[], path = 'steps', out = new Map<string, string>()): Map<string, string> {
  steps.forEach((step, i) => {
    const here = `${path}[${i}]`;
    if (step.type === 'send_email' && !out.has(step.template)) out.set(step.template, here);
    for (const key of NESTED_STEP_KEYS[step.type] ?? []) templatesUsed((step as unknown as Record<string, Step[]>)[key]!, `${here}.${key}`, out);
  });
  return out;
}

function checkShape(definition: AutomationDefinition, file: string, problems: string[]): void {
  let count = 0;
  const walk = (steps: Step[], path: string, depth: number) => {
    steps.forEach((step, i) => {
      count += 1;
      const nested = NESTED_STEP_KEYS[step.type] ?? [];
      if (nested.length > 0 && depth >= MAX_DEPTH) {
        problems.push(`${file}: ${path}[${i}] (${step.type}): steps nest at most ${MAX_DEPTH} levels deep`);
        return;
      }
      for (const key of nested) walk((step as unknown as Record<string, Step[]>)[key]!, `${path}[${i}].${key}`, depth + 1);
    });
  };
  walk(definition.steps, 'steps', 0);
  if (count > MAX_STEPS) problems.push(`${file}: steps: at most ${MAX_STEPS} steps in all (found ${count})`);
}

// Where a zod issue's path enters a list of steps: the definition's, or a nested step's.
const STEP_LISTS = new Set(['steps', ...Object.values(NESTED_STEP_KEYS).flat()]);

/** `steps[3].then[0] (send_email): template: …` from a zod issue and the raw document. */
function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  const path = issue.path;
  let stepEnd = -1;
  for (let i = 0; i + 1 < path.length; i++) {
    if (STEP_LISTS.has(String(path[i])) && typeof path[i + 1] === 'number') stepEnd = i + 1;
  }
  const format = (segments: PropertyKey[]) =>
    segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`)).join('');
  const message = issue.message;
  if (stepEnd < 0) return `${format(path) || '(top level)'}: ${message}`;
  const stepPath = path.slice(0, stepEnd + 1);
  let node: unknown = raw;
  for (const segment of stepPath) node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[segment as PropertyKey] : undefined;
  const type = node && typeof node === 'object' && typeof (node as { type?: unknown }).type === 'string' ? (node as { type: string }).type : 'step';
  const rest = format(path.slice(stepEnd + 1)).replace(/^\./, '');
  return `${format(stepPath)} (${type}): ${rest ? `${rest}: ` : ''}${message}`;
}
