import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** Every option of every command; each command declares which of them it accepts. */
const OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'idempotency-key': { type: 'string' },
  data: { type: 'string' },
  email: { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  company: { type: 'string' },
  phone: { type: 'string' },
  source: { type: 'string' },
  stage: { type: 'string' },
  tag: { type: 'string', multiple: true },
  custom: { type: 'string', multiple: true },
  unsubscribed: { type: 'boolean' },
  clear: { type: 'string', multiple: true },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  timeout: { type: 'string' },
  'chunk-size': { type: 'string' },
  format: { type: 'string' },
  once: { type: 'boolean' },
  interval: { type: 'string' },
  status: { type: 'string' },
  id: { type: 'string' },
  scopes: { type: 'string' },
} as const;

export const GLOBAL_OPTIONS = ['url', 'api-key', 'json', 'help'];

export type CliValues = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, allowNegative: true, strict: true });
}

export interface CommandLine {
  positionals: string[];
  values: CliValues;
}

export function parseCommandLine(argv: string[]): CommandLine {
  try {
    const { positionals, values } = parse(argv);
    return { positionals, values };
  } catch (err) {
    // parseArgs explains itself (unknown option, missing value); its advice about `--` does not apply.
    throw new UsageError((err as Error).message.replace(/\s*To specify a positional argument.*$/s, ''));
  }
}

/** The options given that `allowed` does not list. */
export function unexpectedOptions(values: CliValues, allowed: readonly string[]): string[] {
  return Object.keys(values).filter((name) => !allowed.includes(name) && !GLOBAL_OPTIONS.includes(name));
}

/** A whole number option within bounds, or undefined when not given. */
export function intOption(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got ${raw})`);
  return value;
}
