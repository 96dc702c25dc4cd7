import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// API keys as API_KEYS holds them: `<id>:<scope>+<scope>:sha256:<64 hex>`, comma-separated.
// The configuration holds a key's SHA-256 digest, never the key: whoever reads the
// environment (a `docker inspect`, a leaked .env) learns which keys exist, not a key to use.
// A plain SHA-256 is enough because keys are 32 random bytes, not passwords: there is no
// dictionary to try, so a slow hash would only slow every request down.
//
// Scopes do not imply one another: `read` reads, `write` writes, `admin` runs operator
// actions (re-drive, the payload codec). A key that needs several lists them all
// (`ops:read+admin`), so a key for the Web UI's codec cannot also erase leads.

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  /** How logs and rate limits name the key: the configured id, or 8 hex digits of a plaintext key's digest. */
  id: string;
  scopes: ReadonlySet<Scope>;
  /** SHA-256 of the key: 32 bytes, whatever the key's length. */
  digest: Buffer;
  /** Written in the clear in API_KEYS (development only; production refuses it). */
  plaintext: boolean;
}

const KEY_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HASHED_ENTRY = /^([^:]+):([^:]+):sha256:([0-9a-f]{64})$/i;

/** A key's SHA-256, the form API_KEYS holds. */
export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** How a plaintext key is named in logs: the first 8 hex digits of its SHA-256. */
export function apiKeyId(key: string): string {
  return keyDigest(key).toString('hex').slice(0, 8);
}

/**
 * The keys of API_KEYS, or an Error naming what is wrong (never echoing a key). An entry in
 * the hashed form must be well formed; anything else is a plaintext key with every scope,
 * the form development setups and tests use.
 */
export function parseApiKeys(raw: string | undefined): ApiKey[] | Error {
  const entries = entriesOf(raw);
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  let weak = 0;
  entries.forEach((entry, i) => {
    const hashed = HASHED_ENTRY.exec(entry);
    if (hashed) {
      const [, id = '', scopeList = '', hex = ''] = hashed;
      const scopes = scopeList.split('+');
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (!KEY_ID.test(id)) problems.push(`entry ${i + 1}: the id ${JSON.stringify(id)} must be lower-case letters, digits, - or _ (at most 32)`);
      else if (unknown.length > 0) problems.push(`entry ${i + 1} (${id}): unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; scopes are ${SCOPES.join(', ')}`);
      else keys.push({ id, scopes: new Set(scopes as Scope[]), digest: Buffer.from(hex, 'hex'), plaintext: false });
      return;
    }
    if (/^[^:\s]+:[^:]*:sha256:/i.test(entry)) {
      problems.push(`entry ${i + 1}: a digest must be 64 hex digits (sha256:<hex>)`);
      return;
    }
    if (entry.length < 16 || /\s/.test(entry)) weak++;
    keys.push({ id: apiKeyId(entry), scopes: new Set(SCOPES), digest: keyDigest(entry), plaintext: true });
  });
  if (weak > 0) problems.push(`${weak} key(s) shorter than 16 characters or containing spaces; use long random keys`);
  const ids = keys.map((k) => k.id);
  const repeated = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (repeated.length > 0) problems.push(`the id(s) ${repeated.join(', ')} name more than one key`);
  return problems.length > 0 ? new Error(problems.join('; ')) : keys;
}

/** The entries of API_KEYS that are keys written in the clear. */
export function plaintextKeysIn(raw: string | undefined): string[] {
  return entriesOf(raw).filter((e) => !/^[^:\s]+:[^:]*:sha256:/i.test(e));
}

const entriesOf = (raw: string | undefined) => (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean);

/** The API_KEYS entry of a key: what the operator adds to the configuration. */
export function apiKeyEntry(id: string, scopes: readonly Scope[], key: string): string {
  return `${id}:${[...scopes].join('+')}:sha256:${keyDigest(key).toString('hex')}`;
}

/** A new random key (256 bits); the `aok_` prefix lets secret scanners and people tell what it is. */
export function newApiKey(): string {
  return `aok_${randomBytes(32).toString('base64url')}`;
}

/** Reads `read,write` or `read+write` into scopes, or an Error naming the unknown ones. */
export function parseScopes(list: string): Scope[] | Error {
  const scopes = [...new Set(list.split(/[,+]/).map((s) => s.trim()).filter(Boolean))];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0) return new Error(`name at least one scope: ${SCOPES.join(', ')}`);
  if (unknown.length > 0) return new Error(`unknown scope ${unknown.join(', ')}; scopes are ${SCOPES.join(', ')}`);
  return SCOPES.filter((s) => scopes.includes(s));
}

export function isValidKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/**
 * The configured key a presented bearer token is, or undefined. Digests are compared, not
 * keys: 32 bytes each whatever the lengths, every configured key every time, so the time
 * taken tells neither a key's length, nor its prefix, nor which key nearly matched.
 */
export function matchApiKey(keys: readonly ApiKey[], token: string): ApiKey | undefined {
  const presented = keyDigest(token);
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(key.digest, presented) && found === undefined) found = key;
  }
  return found;
}
