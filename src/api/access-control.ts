import { timingSafeEqual } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimitedError, UnauthorizedError } from './errors.js';

/**
 * Access control on /api/* and the payload codec's /codec/* (and on unknown routes, so they do not reveal what exists): the
 * rate limit first, so guessing keys is limited too, then the key itself. No keys: the API
 * is open (the loopback default); a limit of 0: no limit.
 */
export async function registerAccessControl(app: FastifyInstance, apiKeys: string[], rateLimitPerMinute: number): Promise<void> {
  const keys = apiKeys.map((k) => Buffer.from(k));
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
      if (keys.length > 0 && matchKey(keys, request) === undefined) {
        throw new UnauthorizedError();
      }
    });
  }
}

const KEY_MATCH = Symbol('apiKeyMatch');
type WithKeyMatch = FastifyRequest & { [KEY_MATCH]?: number | null };

/** Index of the configured key the request presents (Authorization: Bearer), or undefined. Constant-time per key. */
function matchKey(keys: Buffer[], request: FastifyRequest): number | undefined {
  const memo = request as WithKeyMatch;
  if (memo[KEY_MATCH] !== undefined) return memo[KEY_MATCH] ?? undefined;
  const [scheme = '', token = ''] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  const presented = Buffer.from(scheme.toLowerCase() === 'bearer' ? token : '');
  let found: number | null = null;
  // Every key is compared, so the time taken does not tell which one nearly matched.
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.length === presented.length && timingSafeEqual(k, presented) && found === null) found = i;
  }
  memo[KEY_MATCH] = found;
  return found ?? undefined;
}
