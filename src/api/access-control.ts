import type { FastifyInstance, FastifyRequest } from 'fastify';
import { matchApiKey, SCOPES, type ApiKey, type Scope } from '../api-keys.js';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from './errors.js';
import type { RateLimiter, RateVerdict } from './rate-limit.js';

/**
 * Who may call a route, declared on the route itself (`config: { access: 'read' }`): a key
 * holding that scope, any valid key (`any-key`: answers that only refuse, like a 405), or
 * anyone (`public`: health, the docs, webhooks and links that carry their own credential).
 */
export type RouteAccess = Scope | 'any-key' | 'public';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route and the access it declared, as added (what the scope tests check). */
    routeAccess: ReadonlyArray<{ method: string; url: string; access: RouteAccess }>;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
    /** What a request costs of its client's rate limit, when more than 1 (a batch: one per lead). Read before validation. */
    rateCost?: (request: FastifyRequest) => number;
  }
}

export interface AccessOptions {
  /** The configured keys; none = the API is open (the loopback default) and scopes are not checked. */
  keys: readonly ApiKey[];
  /** Unset = no rate limit. */
  rateLimit?: RateLimiter | undefined;
}

/** Routes a plugin adds without our config: the Swagger UI page and its assets. */
const UNDECLARED_PUBLIC = (url: string) => url === '/docs' || url.startsWith('/docs/');

const ROUTE_ACCESS: readonly RouteAccess[] = [...SCOPES, 'any-key', 'public'];

const BUCKET = Symbol('rateBucket');
type WithBucket = FastifyRequest & { [BUCKET]?: string };

/**
 * Access control: every route declares its access (a route that does not is refused when it
 * is added, so a new route cannot be served by accident); a request to anything but a public
 * route is first counted against its client's rate limit, so guessing keys is limited too,
 * then needs a valid key, then the route's scope. Unknown routes need a key, so they do not
 * reveal what exists.
 */
export function registerAccessControl(app: FastifyInstance, { keys, rateLimit }: AccessOptions): void {
  const declared: Array<{ method: string; url: string; access: RouteAccess }> = [];
  app.decorate('routeAccess', declared);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access ?? (UNDECLARED_PUBLIC(route.url) ? 'public' : undefined);
    if (access === undefined || !ROUTE_ACCESS.includes(access)) {
      throw new Error(`${[route.method].flat().join(',')} ${route.url} declares no access: set config.access to one of ${ROUTE_ACCESS.join(', ')}`);
    }
    for (const method of [route.method].flat()) declared.push({ method, url: route.url, access });
  });

  app.addHook('onRequest', async (request, reply) => {
    // The matched route, not the raw URL (`/%61pi/leads` routes to /api/leads too); unmatched: a key.
    const options = request.routeOptions;
    const access = options.url === undefined ? 'any-key' : (options.config.access ?? 'public');
    if (access === 'public') return;
    const key = keys.length > 0 ? matchApiKey(keys, bearerToken(request)) : undefined;
    if (rateLimit) {
      // A valid key is its own bucket; requests without one share their client address's.
      const bucket = key ? `key:${key.id}` : `ip:${request.ip}`;
      (request as WithBucket)[BUCKET] = bucket;
      admitOrThrow(reply, await rateLimit.take(bucket, 1));
    }
    if (keys.length === 0) return;
    if (!key) throw new UnauthorizedError();
    // Every line of the request, "request completed" included (told by reply.log), says which key made it.
    const log = request.log.child({ key_id: key.id });
    request.log = log;
    reply.log = log;
    if (access !== 'any-key' && !key.scopes.has(access)) throw new ForbiddenError(access, key.id);
  });

  if (rateLimit) {
    // After the body is parsed and before it is validated: the rest of a weighted request's cost.
    app.addHook('preValidation', async (request, reply) => {
      const cost = request.routeOptions.config.rateCost;
      const bucket = (request as WithBucket)[BUCKET];
      if (cost === undefined || bucket === undefined) return;
      const extra = Math.floor(cost(request)) - 1;
      if (extra > 0) admitOrThrow(reply, await rateLimit.take(bucket, extra));
    });
  }
}

function admitOrThrow(reply: { header(name: string, value: number): unknown }, verdict: RateVerdict): void {
  reply.header('x-ratelimit-limit', verdict.limit);
  reply.header('x-ratelimit-remaining', verdict.remaining);
  reply.header('x-ratelimit-reset', verdict.resetSeconds);
  if (!verdict.allowed) throw new RateLimitedError(Math.max(1, verdict.retryAfterSeconds));
}

/** The token of `Authorization: Bearer <token>`, or '' (which matches no key). */
function bearerToken(request: FastifyRequest): string {
  const [scheme = '', token = ''] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
  return scheme.toLowerCase() === 'bearer' ? token : '';
}
