import type { CliValues } from './args.js';
import { UsageError } from './errors.js';

// A lead body from the command line: --data '{json}' first, then the field flags on top.
// Nothing is validated here: the API checks every field and names each problem.

const FIELD_FLAGS = {
  email: 'email',
  'first-name': 'first_name',
  'last-name': 'last_name',
  company: 'company',
  phone: 'phone',
  source: 'source',
  stage: 'stage',
} as const;

export const LEAD_OPTIONS = ['data', ...Object.keys(FIELD_FLAGS), 'tag', 'custom', 'unsubscribed', 'idempotency-key'];
export const LEAD_FIELD_HELP =
  "FIELDS: --email E --first-name N --last-name N --company C --phone P --source S --stage S --tag T… --custom k=v… --[no-]unsubscribed, on top of --data '{json}'";

export function leadFields(values: CliValues): Record<string, unknown> {
  const fields = parseData(values.data);
  for (const [flag, field] of Object.entries(FIELD_FLAGS)) {
    const value = values[flag as keyof typeof FIELD_FLAGS];
    if (value !== undefined) fields[field] = value;
  }
  if (values.tag) fields.tags = values.tag;
  if (values.custom) fields.custom = { ...(fields.custom as Record<string, unknown> | undefined), ...customPairs(values.custom) };
  if (values.unsubscribed !== undefined) fields.unsubscribed = values.unsubscribed;
  // --clear company: PATCH's null, which clears a field.
  for (const name of values.clear ?? []) fields[name.replace(/-/g, '_')] = null;
  if (Object.keys(fields).length === 0) throw new UsageError(`no fields given. ${LEAD_FIELD_HELP}`);
  return fields;
}

function parseData(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--data is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--data must be a JSON object');
  return value as Record<string, unknown>;
}

function customPairs(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new UsageError(`--custom takes key=value (got ${pair})`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
