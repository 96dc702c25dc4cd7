// Personal data and secrets must not reach the logs. Three layers, cheapest first:
//  1. what the app logs is chosen: the request serializer logs the path, not the query
//     values (GET /api/leads?email=… carries an address), and never headers;
//  2. pino's `redact` censors known fields (email, phone, authorization) wherever a log
//     call passes them as structured data;
//  3. every finished log line passes through a filter that, when the line could hold an
//     address, a bearer token, an API key or a phone field, scrubs it; error messages and
//     stacks from libraries are covered by this last layer only.

export const REDACTED = '[redacted]';

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

// Addresses are found by a scan, not a regex: every line goes through here, including the URL
// of a request logged before it is authenticated, and a backtracking regex
// (/[local]+@[domain]+(\.[domain]+)*\.[a-z]{2,}/) retries its local part from every start
// position: quadratic, a quarter of a second for a crafted 16 KB path. The scan visits each
// character at most three times: the local part left of an `@` stops at the previous `@`,
// the domain right of it at the next one. It finds what that regex found.

const LOCAL_CHAR = /[A-Za-z0-9._%+'-]/;
const LABEL_CHAR = /[A-Za-z0-9-]/;
const LETTER = /[A-Za-z]/;

/** Replaces every address (`local@label(.label)*.tld`, the TLD two or more letters) with REDACTED. */
export function redactEmails(text: string): string {
  let out = '';
  let copied = 0; // text before this index is in `out`, and no address starts before it
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > copied && LOCAL_CHAR.test(text[start - 1]!)) start--;
    if (start === at) continue;
    const end = domainEnd(text, at + 1);
    if (end < 0) continue;
    out += text.slice(copied, start) + REDACTED;
    copied = end;
    at = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Where the domain starting at `from` ends, or -1 when there is none: labels of letters, digits
 * and dashes joined by single dots, ending at the last label (not the first) that starts with
 * two letters, after those letters; as the regex's greedy match did.
 */
function domainEnd(text: string, from: number): number {
  let end = -1;
  let i = from;
  for (let label = 0; ; label++) {
    const labelStart = i;
    while (i < text.length && LABEL_CHAR.test(text[i]!)) i++;
    if (i === labelStart) break; // an empty label ends the domain
    if (label > 0) {
      let letters = labelStart;
      while (letters < i && LETTER.test(text[letters]!)) letters++;
      if (letters - labelStart >= 2) end = letters;
    }
    if (text[i] !== '.') break;
    i++;
  }
  return end;
}

export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = redactEmails(text).replace(BEARER, `$1 ${REDACTED}`);
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
