import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LEAD_ID_PATTERN } from '../../domain/ids.js';
import type { AutomationRoutesOptions } from './automations.js';

const UnsubscribeQuery = z.strictObject({
  lead: z.string().regex(LEAD_ID_PATTERN, { message: 'must be a lead id' }),
  token: z.string().regex(/^[A-Za-z0-9_-]{32}$/, { message: 'must be the token of an unsubscribe link' }),
});

export const unsubscribeRoutes: FastifyPluginAsyncZod<AutomationRoutesOptions> = async (app, options) => {
  const service = options.service;
  if (!service) return;

  // The unsubscribe link of automation emails: not under /api (no API key; the token is
  // the credential). GET shows a confirmation button, so a mail scanner following links
  // unsubscribes nobody; POST (the button, or RFC 8058 one-click) unsubscribes.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => done(null, body));

  app.get(
    '/unsubscribe',
    { schema: { hide: true, querystring: UnsubscribeQuery } },
    async (request, reply) => {
      const { lead, token } = request.query;
      const action = `/unsubscribe?lead=${encodeURIComponent(lead)}&token=${encodeURIComponent(token)}`;
      return reply
        .type('text/html; charset=utf-8')
        .send(page('Unsubscribe', `<p>Stop receiving automated emails from us?</p><form method="post" action="${action}"><button type="submit">Unsubscribe</button></form>`));
    },
  );

  app.post(
    '/unsubscribe',
    { schema: { hide: true, querystring: UnsubscribeQuery } },
    async (request, reply) => {
      service.verifyUnsubscribeLink(request.query.lead, request.query.token);
      // The address opts out; a second click finds it suppressed and changes nothing.
      await app.leads.optOut(request.query.lead, 'unsubscribe_link');
      return reply.type('text/html; charset=utf-8').send(page('Unsubscribed', '<p>You are unsubscribed: you will get no more automated emails from us.</p>'));
    },
  );
};


const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
