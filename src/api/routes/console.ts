import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_MODULES, etagOf, loadClientModules, type ClientModule } from '../console/client-modules.js';
import { renderConsolePage, type ConsoleView } from '../console/page.js';
import { CONSOLE_STYLES } from '../console/styles.js';

// GET /console: the operators' status page, on the ops listener (buildOpsApp). The page, its
// script and its stylesheet sit outside /api, so they need no API key: they hold no data.
// Every figure and list the page shows comes from /api/* routes the ops listener serves
// beside it (same origin, same handlers and keys as the public port's), which the script
// calls with the key the visitor enters. The script is ES modules, /console/app.js and the
// modules it imports (console/client-modules.ts).

export type ConsoleOptions = Omit<ConsoleView, 'samples'> & { samples?: number };

/** Samples the page keeps for its charts: with the default 3 s refresh, the last 6 minutes. */
const DEFAULT_SAMPLES = 120;

/**
 * Nothing but this origin's own script, stylesheet and API; no inline script or style, no
 * framing, no form posts anywhere. Links into the Temporal Web UI are navigations, which
 * the policy does not restrict.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // data: for the page's empty favicon, so the browser does not ask for /favicon.ico.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// Every answer is revalidated (no-cache): the URLs carry no version, and a browser must not
// run an old module beside a new one after a deploy. The script and stylesheet carry an
// ETag, so revalidating them costs a 304.
function secured(reply: FastifyReply, contentType: string): FastifyReply {
  return reply
    .type(contentType)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache');
}

/** The asset, or a bodiless 304 when the browser already holds this version of it. */
function sendAsset(request: FastifyRequest, reply: FastifyReply, contentType: string, asset: ClientModule): FastifyReply {
  secured(reply, contentType).header('etag', asset.etag);
  return request.headers['if-none-match'] === asset.etag ? reply.code(304).send() : reply.send(asset.body);
}

let clientModules: Promise<Map<string, ClientModule>> | undefined;

/** Loaded (or, from source, compiled) on first request, then kept; a failed load is tried again next time. */
function client(): Promise<Map<string, ClientModule>> {
  clientModules ??= loadClientModules().catch((error: unknown) => {
    clientModules = undefined;
    throw error;
  });
  return clientModules;
}

export const consoleRoutes: FastifyPluginAsync<{ view?: ConsoleOptions | undefined }> = async (app, options) => {
  const view = options.view;
  if (!view) return;
  // Rendered once: the page depends on configuration only.
  const page = renderConsolePage({ ...view, samples: view.samples ?? DEFAULT_SAMPLES });
  // Public: the page holds no data; its script asks /api/* with the operator's key.
  const hidden = { schema: { hide: true }, config: { access: 'public' as const } };

  app.get('/console', hidden, async (_request, reply) => secured(reply, 'text/html; charset=utf-8').send(page));
  // One route per module, not /console/:name: unknown paths below /console stay keyed.
  for (const name of CLIENT_MODULES) {
    app.get(`/console/${name}.js`, hidden, async (request, reply) =>
      sendAsset(request, reply, 'text/javascript; charset=utf-8', (await client()).get(name)!),
    );
  }
  const styles = { body: CONSOLE_STYLES, etag: etagOf(CONSOLE_STYLES) };
  app.get('/console/app.css', hidden, async (request, reply) => sendAsset(request, reply, 'text/css; charset=utf-8', styles));
};
