import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SalesforceState } from './sf-state.js';

/**
 * The OAuth 2.0 client-credentials flow: `POST /services/oauth2/token` with a form body.
 * Tokens last `tokenTtlMs` (an org's session timeout) or until `expireTokens()`; an API call
 * with a dead one answers 401 INVALID_SESSION_ID. The token call is not an API request: it
 * does not count against the daily allowance.
 */
export function registerOAuthRoutes(app: FastifyInstance, state: SalesforceState, instanceUrl: () => string): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.post('/services/oauth2/token', async (request, reply) => {
    state.stats.tokenRequests += 1;
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    if (form.grant_type !== 'client_credentials') {
      return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    if (form.client_id !== state.clientId || form.client_secret !== state.clientSecret) {
      return reply.code(400).send({ error: 'invalid_client', error_description: 'invalid client credentials' });
    }
    const accessToken = `00D000000000001!${randomBytes(24).toString('base64url')}`;
    const issuedAt = String(Date.now());
    state.tokens.set(accessToken, Date.now() + state.tokenTtlMs);
    const id = `${instanceUrl()}/id/00D000000000001AAA/005000000000001AAA`;
    return {
      access_token: accessToken,
      instance_url: instanceUrl(),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
      // Salesforce signs id + issued_at with the client secret, so a client can check the answer came from the org.
      signature: createHmac('sha256', state.clientSecret).update(id + issuedAt).digest('base64'),
    };
  });
}

/** True when `authorization` carries a live token of this org. */
export function sessionIsValid(state: SalesforceState, authorization: string | undefined): boolean {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  const expiresAt = token === undefined ? undefined : state.tokens.get(token);
  return expiresAt !== undefined && expiresAt > Date.now();
}
