import { apiKeyEntry, isValidKeyId, newApiKey, parseScopes, SCOPES } from '../../api-keys.js';
import { UsageError } from '../errors.js';
import type { Command } from '../io.js';

// `ao keys new`: a new API key and the API_KEYS entry that accepts it. Runs here, calls no API:
// the key is printed once and kept nowhere; the configuration gets only its digest.

const USAGE = `ao keys new --id NAME --scopes ${SCOPES.join(',')}`;

export const keyCommands: Command[] = [
  {
    name: 'keys new',
    usage: USAGE,
    summary: `a new random API key, and its API_KEYS entry (<id>:<scopes>:sha256:<digest>); scopes ${SCOPES.join(', ')}, none implies another`,
    args: [],
    options: ['id', 'scopes'],
    run: async (ctx) => {
      const { id, scopes: scopeList } = ctx.values;
      if (id === undefined || !isValidKeyId(id)) throw new UsageError('--id NAME is required: lower-case letters, digits, - or _ (at most 32); logs name the key by it', USAGE);
      const scopes = parseScopes(scopeList ?? '');
      if (scopes instanceof Error) throw new UsageError(`--scopes: ${scopes.message}`, USAGE);
      const key = newApiKey();
      const entry = apiKeyEntry(id, scopes, key);
      ctx.out.result({ id, scopes, key, entry }, () =>
        [
          `key:   ${key}`,
          '       give it to the client (Authorization: Bearer <key>, or AO_API_KEY); it is shown once and stored nowhere',
          `entry: ${entry}`,
          '       add it to API_KEYS (comma-separated); keep the old key\'s entry until its clients have the new key, then remove it',
        ].join('\n'),
      );
    },
  },
];
