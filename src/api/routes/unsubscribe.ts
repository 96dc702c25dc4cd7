import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LEAD_ID_PATTERN } from '../../domain/ids.js';
import { HttpError } from '../errors.js';
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
  // The body says nothing the query does not (RFC 8058: `List-Unsubscribe=One-Click`), so
  // it is read only to be bounded; mail providers send it urlencoded or as multipart form
  // data, and some send none at all (no Content-Type, no body: Fastify's default).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 4096 }, (req, body, done) => {
    const fields = multipartFields(String(req.headers['content-type']), String(body));
    done(fields ? null : new HttpError(400, 'invalid_body', 'the multipart/form-data body is not well formed'), fields ?? undefined);
  });

  app.get(
    '/unsubscribe',
    // Public: the link's signed token is its credential.
    { schema: { hide: true, querystring: UnsubscribeQuery }, config: { access: 'public' } },
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
    // Public: the link's signed token is its credential.
    { schema: { hide: true, querystring: UnsubscribeQuery }, config: { access: 'public' } },
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

/**
 * The text fields of a small multipart/form-data body (RFC 7578), or null when it is not
 * one: enough for a one-click unsubscribe, whose body is one field. The body is bounded by
 * the parser's limit, so no streaming is needed.
 */
export function multipartFields(contentType: string, body: string): Record<string, string> | null {
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const delimiter = boundary?.[1] ?? boundary?.[2];
  if (!delimiter) return null;
  const parts = body.split(`--${delimiter}`);
  // Before the first delimiter: a preamble; after the last: `--` and an epilogue.
  if (parts.length < 2 || !parts[parts.length - 1]!.startsWith('--')) return null;
  const fields: Record<string, string> = {};
  for (const part of parts.slice(1, -1)) {
    const end = part.indexOf('\r\n\r\n');
    if (!part.startsWith('\r\n') || end < 0 || !part.endsWith('\r\n')) return null;
    const name = /^content-disposition:\s*form-data;.*?\bname="([^"]*)"/im.exec(part.slice(0, end));
    if (!name) return null;
    fields[name[1]!] = part.slice(end + 4, -2);
  }
  return fields;
}

