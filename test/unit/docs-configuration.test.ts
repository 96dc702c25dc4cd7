import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.js';
import { configVariables, renderConfigurationDoc } from '../../tooling/docs/configuration.js';

describe('docs/configuration.md', () => {
  it('is what the configuration schema renders today', () => {
    const committed = readFileSync('docs/configuration.md', 'utf8');
    // A bare toBe would print two 200-line strings; the hint is what to do about it.
    expect(committed === renderConfigurationDoc(), 'docs/configuration.md differs from src/config.ts: run npm run docs:config').toBe(true);
  });

  it('lists every variable of the schema with a description', () => {
    const names = configVariables().map((v) => v.name);
    expect(names).toEqual(Object.keys(configSchema.shape));
    const doc = renderConfigurationDoc();
    for (const name of names) expect(doc).toContain(`| \`${name}\` |`);
  });

  it('notes the production refusals of default values', () => {
    const byName = new Map(configVariables().map((v) => [v.name, v.productionRefusal]));
    // Unset, production has no key to encrypt payloads with; HOST's loopback default is fine.
    expect(byName.get('TEMPORAL_CODEC_KEYS')).toMatch(/required in production/);
    expect(byName.get('UNSUBSCRIBE_BASE_URL')).toMatch(/loopback.*; .*not https/);
    expect(byName.get('HOST')).toBeUndefined();
  });
});

describe('.env.example', () => {
  // Both `NAME=value` and the commented-out `# NAME=value` examples are settings a reader copies.
  const names = readFileSync('.env.example', 'utf8')
    .split('\n')
    .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);

  it('sets only variables the configuration schema reads', () => {
    expect(names.length).toBeGreaterThan(50);
    const unknown = names.filter((name) => !(name in configSchema.shape));
    expect(unknown, 'variables in .env.example that src/config.ts does not read').toEqual([]);
  });

  it('mentions every variable of the schema', () => {
    const missing = Object.keys(configSchema.shape).filter((name) => !names.includes(name));
    expect(missing, 'variables of src/config.ts that .env.example does not show').toEqual([]);
  });
});
