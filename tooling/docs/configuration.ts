import type { z } from 'zod';
import { configSchema, openApiRefusal, productionRefusals } from '../../src/config.js';

/**
 * docs/configuration.md, rendered from the zod schema every process reads (src/config.ts):
 * the names, defaults, allowed values and `.describe()` texts come from the schema itself,
 * so the reference cannot disagree with what the processes accept. `npm run docs:config`
 * writes it; test/unit/docs-configuration.test.ts fails when the committed file differs.
 */

/** A section opens at its first variable and runs until the next section's, in schema order. */
export const CONFIG_SECTIONS: ReadonlyArray<{ title: string; from: keyof typeof configSchema.shape }> = [
  { title: 'Temporal', from: 'TEMPORAL_ADDRESS' },
  { title: 'Production', from: 'NODE_ENV' },
  { title: 'HTTP API', from: 'TEMPORAL_UI_URL' },
  { title: 'Worker', from: 'WORKER_PROCESSES' },
  { title: 'CRM', from: 'CRM_ADAPTER' },
  { title: 'Email', from: 'SMTP_HOST' },
  { title: 'Retries', from: 'RETRY_MAX_ATTEMPTS' },
  { title: 'Automations', from: 'AUTOMATIONS_DIR' },
  { title: 'Personal data', from: 'EMAIL_HASH_SECRETS' },
  { title: 'Tracing', from: 'TRACING_ENABLED' },
];

export interface ConfigVariable {
  name: string;
  /** As written in the environment, or undefined when unset is the default. */
  default: string | undefined;
  /** What the schema accepts: a type, a range, the allowed values. */
  accepts: string;
  description: string;
  /** What a production process says about this variable at its default, if it refuses it. */
  productionRefusal: string | undefined;
}

// zod 4 keeps a schema's shape in `_zod.def`; ZodNumber and ZodString expose their bounds.
interface Inspectable {
  _zod: { def: Record<string, unknown> & { type: string } };
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  minLength?: number | null;
  options?: readonly string[];
}

const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no'];

interface Shape {
  accepts?: string;
  default?: unknown;
}

/** Walks defaults, optionals and pipes down to the schema that says what a value may be. */
function shapeOf(schema: Inspectable): Shape {
  const def = schema._zod.def;
  switch (def.type) {
    case 'default': {
      const inner = shapeOf(def.innerType as Inspectable);
      return { ...inner, default: def.defaultValue };
    }
    case 'optional':
      return shapeOf(def.innerType as Inspectable);
    case 'pipe': {
      // `optionalString.pipe(x)` validates with x; `bool()` is an enum piped into a transform.
      const from = shapeOf(def.in as Inspectable);
      const to = shapeOf(def.out as Inspectable);
      return { accepts: to.accepts ?? from.accepts, default: to.default ?? from.default };
    }
    case 'transform':
      return {};
    case 'enum': {
      const options = schema.options ?? [];
      if (options.length === BOOLEAN_WORDS.length && BOOLEAN_WORDS.every((w) => options.includes(w))) {
        return { accepts: 'boolean: `true`/`false` (or `1`/`0`, `yes`/`no`)' };
      }
      return { accepts: `one of ${options.map((o) => `\`${o}\``).join(', ')}` };
    }
    case 'number':
      return { accepts: numberRange(schema) };
    case 'string':
      return { accepts: stringKind(schema) };
    default:
      throw new Error(`configuration docs: no rendering for a zod ${def.type}`);
  }
}

function numberRange(schema: Inspectable): string {
  const kind = schema.isInt ? 'integer' : 'number';
  const min = schema.minValue ?? undefined;
  const max = schema.maxValue === Number.MAX_SAFE_INTEGER ? undefined : (schema.maxValue ?? undefined);
  if (min !== undefined && max !== undefined) return `${kind}, ${min}–${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  return kind;
}

function stringKind(schema: Inspectable): string {
  const def = schema._zod.def;
  if (def.format === 'url') return def.protocol instanceof RegExp && def.protocol.test('http') && def.protocol.test('https') && !def.protocol.test('ftp') ? 'http(s) URL' : 'URL';
  const checks = (def.checks as Inspectable[] | undefined) ?? [];
  const regex = checks.map((c) => c._zod.def.pattern).find((p): p is RegExp => p instanceof RegExp);
  if (regex) return `string matching \`${regex.source}\``;
  return (schema.minLength ?? 0) > 1 ? `string, ${schema.minLength}+ characters` : 'string';
}

/** The refusals a production process (NODE_ENV=production) gives with every other variable at its default, by variable. */
function productionRefusalsAtDefaults(): Map<string, string> {
  const config = configSchema.parse({ NODE_ENV: 'production' });
  const lines = [...productionRefusals(config), openApiRefusal(config) ?? ''].filter(Boolean);
  const byName = new Map<string, string>();
  for (const line of lines) {
    const match = /^([A-Z0-9_, ]+): (.*)$/s.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const message = match[2].replace(/\s*\n\s*/g, ' ');
    for (const name of match[1].split(',').map((n) => n.trim())) {
      const earlier = byName.get(name);
      byName.set(name, earlier === undefined ? message : `${earlier}; ${message}`);
    }
  }
  return byName;
}

/** Every variable of the schema, in schema order. */
export function configVariables(): ConfigVariable[] {
  const refusals = productionRefusalsAtDefaults();
  return Object.entries(configSchema.shape).map(([name, field]) => {
    const schema = field as unknown as Inspectable & z.ZodType;
    const meta = schema.meta() ?? {};
    const shape = shapeOf(schema);
    const defaultText = typeof meta.defaultText === 'string' ? meta.defaultText : undefined;
    if (typeof meta.description !== 'string' || meta.description.trim() === '') {
      throw new Error(`configuration docs: ${name} has no .describe() text in src/config.ts`);
    }
    return {
      name,
      default: defaultText ?? (shape.default === undefined ? undefined : String(shape.default)),
      accepts: shape.accepts ?? 'string',
      description: meta.description,
      productionRefusal: refusals.get(name),
    };
  });
}

/** A table cell: `|` escaped everywhere, `<` and `>` outside code spans (else they read as HTML tags). */
function cell(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|');
}

function row(v: ConfigVariable, defaultIsText: boolean): string {
  const fallback = v.default === undefined ? 'unset' : defaultIsText ? v.default : `\`${v.default}\``;
  const production = v.productionRefusal === undefined ? '' : ` **Production refuses the default:** ${v.productionRefusal}`;
  return `| \`${v.name}\` | ${cell(fallback)} | ${cell(v.accepts)} | ${cell(v.description + production)} |`;
}

/** The whole of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const variables = configVariables();
  const textDefaults = new Set(
    Object.entries(configSchema.shape)
      .filter(([, f]) => typeof (f as unknown as z.ZodType).meta()?.defaultText === 'string')
      .map(([n]) => n),
  );
  const names = variables.map((v) => v.name);
  const starts = CONFIG_SECTIONS.map((s) => names.indexOf(s.from));
  if (starts[0] !== 0 || starts.some((at, i) => i > 0 && at <= (starts[i - 1] ?? 0))) {
    throw new Error('configuration docs: CONFIG_SECTIONS must open at the first variable and follow the schema order');
  }
  const out = [
    '<!-- Generated by `npm run docs:config` from src/config.ts (tooling/docs/configuration.ts); edit the schema, not this file. -->',
    '# Configuration',
    '',
    'Every process `npm start` runs reads this one configuration: the stack supervisor',
    '(`scripts/stack.ts`), the API (`src/api/server.ts`) and the workers (`worker/main.ts`), as do',
    'the compose containers. Values come from the environment, then from `.env` in the working',
    'directory (`.env.example` lists them); a bad value stops the process at start with a message',
    'naming the variable. Booleans accept `true`/`false`, `1`/`0` or `yes`/`no`.',
    '',
    'With `NODE_ENV=production` a process also refuses development secrets, loopback links and',
    'unencrypted payloads; the variables it refuses at their defaults say so below.',
  ];
  CONFIG_SECTIONS.forEach((section, i) => {
    const slice = variables.slice(starts[i], starts[i + 1] ?? variables.length);
    out.push('', `## ${section.title}`, '', '| variable | default | accepts | description |', '| --- | --- | --- | --- |');
    for (const v of slice) out.push(row(v, textDefaults.has(v.name)));
  });
  return `${out.join('\n')}\n`;
}
