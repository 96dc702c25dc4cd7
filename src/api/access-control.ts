import { createHash, timingSafeEqual } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitedError, UnauthorizedError } from './errors.js';

/**
 * Access control on /api/* and the payload codec's /codec/* (and on unknown routes, so they do not reveal what exists): the
 * rate limit first, so guessing keys is limited too, then the key itself. No keys: the API
 * is open (the loopback default); a limit of 0: no limit.
 */
export async function registerAccessControl(app: FastifyInstance, apiKeys: string[], rateLimitPerMinute: number): Promise<void> {
  const keys = apiKeys.map((key) => ({ digest: sha256(key), id: apiKeyId(key) }));
  const limited = rateLimitPerMinute > 0;
  if (limited) await app.register(fastifyRateLimit, { global: false, max: rateLimitPerMinute, timeWindow: 60_000 });
  const rateLimit = limited
    ? app.createRateLimit({
        // A valid key is its own bucket; requests without one share their client address's.
        keyGenerator: (request) => {
          const key = matchKey(keys, request);
          return key === undefined ? `ip:${request.ip}` : `key:${key}`;
        },
      })
    : undefined;
  if (keys.length > 0 || rateLimit) {
    app.addHook('onRequest', async (request, reply) => {
      // The matched route, not the raw URL: `/%61pi/leads` routes to /api/leads too.
      const route = request.routeOptions.url;
      if (route !== undefined && !route.startsWith('/api/') && !route.startsWith('/codec/')) return;
      // A browser's CORS preflight carries no credentials (the codec endpoint, for the Web UI).
      if (route?.startsWith('/codec/') && request.method === 'OPTIONS') return;
      if (rateLimit) {
        const verdict = await rateLimit(request);
        if (!verdict.isAllowed) {
          reply.header('x-ratelimit-limit', verdict.max);
          reply.header('x-ratelimit-remaining', verdict.remaining);
          reply.header('x-ratelimit-reset', verdict.ttlInSeconds);
          if (verdict.isExceeded) throw new RateLimitedError(Math.max(1, verdict.ttlInSeconds));
        }
      }
      if (keys.length > 0) {
        const keyId = matchKey(keys, request);
        if (keyId === undefined) throw new UnauthorizedError();
        // Every line of the request, "request completed" included (told by reply.log), says which key made it.
        const log = request.log.child({ key_id: keyId });
        request.log = log;
        reply.log = log;
      }
    });
  }
}

/**
 * How a key is named in logs and rate-limit buckets: the first 8 hex digits of its SHA-256.
 * Enough to tell the configured keys apart, useless for guessing one.
 */
export function apiKeyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

interface ConfiguredKey {
  digest: Buffer;
  id: string;
}

const KEY_MATCH = Symbol('apiKeyMatch');
type WithKeyMatch = FastifyRequest & { [KEY_MATCH]?: string | null };

/**
 * The id of the configured key the request presents (Authorization: Bearer), or undefined.
 * Digests are compared, not keys: they are 32 bytes whatever the keys' lengths, so every
 * comparison runs in full and the time taken tells neither a key's length nor its prefix.
 */
function matchKey(keys: ConfiguredKey[], request: FastifyRequest): string | undefined {
  const memo = request as WithKeyMatch;
  if (memo[KEY_MATCH] !== undefined) return memo[KEY_MATCH] ?? undefined;
  const [scheme = '', token = ''] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  const presented = sha256(scheme.toLowerCase() === 'bearer' ? token : '');
  let found: string | null = null;
  // Every key is compared, so the time taken does not tell which one nearly matched.
  for (const key of keys) {
    if (timingSafeEqual(key.digest, presented) && found === null) found = key.id;
  }
  memo[KEY_MATCH] = found;
  return found ?? undefined;
}
