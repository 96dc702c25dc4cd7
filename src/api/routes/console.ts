import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { renderConsolePage, type ConsoleView } from '../console/page.js';
import { CONSOLE_SCRIPT } from '../console/script.js';
import { CONSOLE_STYLES } from '../console/styles.js';

// GET /console: the operators' status page, on the ops listener (buildOpsApp). The page, its
// script and its stylesheet sit outside /api, so they need no API key: they hold no data.
// Every figure and list the page shows comes from /api/* routes the ops listener serves
// beside it (same origin, same handlers and keys as the public port's), which the script
// calls with the key the visitor enters.

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

function secured(reply: FastifyReply, contentType: string): FastifyReply {
  return reply
    .type(contentType)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache');
}

export const consoleRoutes: FastifyPluginAsync<{ view?: ConsoleOptions | undefined }> = async (app, options) => {
  const view = options.view;
  if (!view) return;
  // Rendered once: the page depends on configuration only.
  const page = renderConsolePage({ ...view, samples: view.samples ?? DEFAULT_SAMPLES });
  // Public: the page holds no data; its script asks /api/* with the operator's key.
  const hidden = { schema: { hide: true }, config: { access: 'public' as const } };

  app.get('/console', hidden, async (_request, reply) => secured(reply, 'text/html; charset=utf-8').send(page));
  app.get('/console/app.js', hidden, async (_request, reply) => secured(reply, 'text/javascript; charset=utf-8').send(CONSOLE_SCRIPT));
  app.get('/console/app.css', hidden, async (_request, reply) => secured(reply, 'text/css; charset=utf-8').send(CONSOLE_STYLES));
};
