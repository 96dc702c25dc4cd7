import { describe, expect, it } from 'vitest';
import { matchApiKey, parseApiKeys, type ApiKey } from '../../src/api-keys.js';
import { run } from '../../src/cli/run.js';

// `ao keys new` prints a key and the API_KEYS entry that accepts it, and nothing else keeps the key.

async function ao(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

describe('ao keys new', () => {
  it('prints a new key and its entry; the entry accepts that key, with those scopes, under that id', async () => {
    const { code, stdout } = await ao(['keys', 'new', '--id', 'ci', '--scopes', 'write,read', '--json']);
    expect(code).toBe(0);
    const made = JSON.parse(stdout) as { id: string; scopes: string[]; key: string; entry: string };
    expect(made.key).toMatch(/^aok_[A-Za-z0-9_-]{43}$/);
    expect(made.entry).toMatch(/^ci:read\+write:sha256:[0-9a-f]{64}$/);
    expect(made.entry).not.toContain(made.key);
    const keys = parseApiKeys(made.entry) as ApiKey[];
    expect(matchApiKey(keys, made.key)).toMatchObject({ id: 'ci', plaintext: false });
    expect([...matchApiKey(keys, made.key)!.scopes]).toEqual(['read', 'write']);
    expect(matchApiKey(keys, `${made.key}x`)).toBeUndefined();
  });

  it('makes a different key each time', async () => {
    const a = JSON.parse((await ao(['keys', 'new', '--id', 'a', '--scopes', 'read', '--json'])).stdout).key;
    const b = JSON.parse((await ao(['keys', 'new', '--id', 'a', '--scopes', 'read', '--json'])).stdout).key;
    expect(a).not.toBe(b);
  });

  it('says where each line goes', async () => {
    const { stdout } = await ao(['keys', 'new', '--id', 'ops', '--scopes', 'admin']);
    expect(stdout).toMatch(/^key: {3}aok_/m);
    expect(stdout).toMatch(/^entry: ops:admin:sha256:/m);
    expect(stdout).toContain('API_KEYS');
  });

  it('refuses a missing or malformed id and unknown scopes (exit 2), printing no key', async () => {
    for (const argv of [['--scopes', 'read'], ['--id', 'Bad Id', '--scopes', 'read'], ['--id', 'ci', '--scopes', 'read,root'], ['--id', 'ci']]) {
      const result = await ao(['keys', 'new', ...argv]);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/--id|--scopes/);
    }
  });
});
