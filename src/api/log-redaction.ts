// Personal data and secrets must not reach the logs. Three layers, cheapest first:
//  1. what the app logs is chosen: the request serializer logs the path, not the query
//     values (GET /api/leads?email=… carries an address), and never headers;
//  2. pino's `redact` censors known fields (email, phone, authorization) wherever a log
//     call passes them as structured data;
//  3. every finished log line passes through a filter that, when the line could hold an
//     address, a bearer token, an API key or a phone field, scrubs it; error messages and
//     stacks from libraries are covered by this last layer only.

export const REDACTED = '[redacted]';

const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const BEARER = /\b(bearer)\s+[^\s"',;]+/gi;
/** Field names whose values are never logged, whatever they hold. */
const SECRET_FIELD = /^(email|phone|authorization|x-api-key|api[_-]?keys?|password|token|secret|cookie|idempotency-key)$/i;
/** Query parameters whose values may appear in a logged URL (the rest are replaced). */
const LOGGABLE_QUERY = new Set(['limit', 'stage']);

/** `/api/leads?email=a%40b.com&limit=5` → `/api/leads?email=[redacted]&limit=5`. */
export function scrubUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq < 0 || LOGGABLE_QUERY.has(name) ? pair : `${name}=${REDACTED}`;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(EMAIL, REDACTED).replace(BEARER, `$1 ${REDACTED}`);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

function scrubValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (value === null || typeof value !== 'object' || depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[scrubText(key, secrets)] = SECRET_FIELD.test(key) && v !== null && v !== undefined ? REDACTED : scrubValue(v, secrets, depth + 1);
  }
  return out;
}

/**
 * Scrubs one serialized log line (a JSON document, or plain text for pretty printers).
 * Lines that cannot hold what is scrubbed are returned as they are, without parsing.
 */
export function scrubLogLine(line: string, secrets: readonly string[] = []): string {
  const suspicious =
    line.includes('@') ||
    /bearer|"phone"|"email"|"authorization"/i.test(line) ||
    secrets.some((s) => line.includes(s));
  if (!suspicious) return line;
  const trimmed = line.trimEnd();
  const ending = line.slice(trimmed.length);
  try {
    return JSON.stringify(scrubValue(JSON.parse(trimmed), secrets, 0)) + ending;
  } catch {
    return scrubText(line, secrets);
  }
}

export interface LineSink {
  write(chunk: string): unknown;
}

/** A pino destination that scrubs every line before handing it to `target`. */
export function redactingStream(target: LineSink, secrets: readonly string[] = []): LineSink {
  // A very short key would also match ordinary words; configured keys are at least 16
  // characters (config.ts), so this only drops test keys.
  const longSecrets = secrets.filter((s) => s.length >= 6);
  return {
    write(chunk: string) {
      return target.write(scrubLogLine(String(chunk), longSecrets));
    },
  };
}
