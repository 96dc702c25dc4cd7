import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, DOCS_CSP } from '../../src/api/app.js';
import type { LeadService } from '../../src/leads/lead-service.js';

// Issue #25 point 6: a Content-Security-Policy on /docs, and TRUST_PROXY reaching Fastify.
// Neither needs Temporal: the lead service is never called.

const leads = {} as LeadService;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function appWith(trustProxy?: boolean | string[]): Promise<FastifyInstance> {
  app = await buildApp({ leads, metrics: false, ...(trustProxy === undefined ? {} : { trustProxy }) });
  app.get('/whoami', { config: { access: 'public' } }, async (request) => ({ ip: request.ip, protocol: request.protocol }));
  return app;
}

describe('/docs Content-Security-Policy', () => {
  it('is sent on the Swagger UI page and its assets, allowing this origin only', async () => {
    const docs = await appWith();
    const page = await docs.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toBe(DOCS_CSP);
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )style-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https:|\*/);
    for (const url of ['/docs', '/docs/static/index.html', '/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-ui.css', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const res = await docs.inject({ method: 'GET', url });
      expect([200, 302], url).toContain(res.statusCode);
      expect(res.headers['content-security-policy'], url).toBe(DOCS_CSP);
    }
    // The page loads no inline script, which the policy would block.
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  });

  it('is not sent on the API, whose answers are JSON', async () => {
    const res = await (await appWith()).inject({ method: 'GET', url: '/health' });
    expect(res.headers['content-security-policy']).toBeUndefined();
  });
});

describe('TRUST_PROXY', () => {
  const forwarded = { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' };

  it('believes no X-Forwarded-* by default', async () => {
    const res = await (await appWith()).inject({ method: 'GET', url: '/whoami', remoteAddress: '10.0.0.5', headers: forwarded });
    expect(res.json()).toEqual({ ip: '10.0.0.5', protocol: 'http' });
  });

  it('takes the client from X-Forwarded-* sent by a listed proxy, and only from it', async () => {
    const proxied = await appWith(['10.0.0.0/24']);
    const viaProxy = await proxied.inject({ method: 'GET', url: '/whoami', remoteAddress: '10.0.0.5', headers: forwarded });
    expect(viaProxy.json()).toEqual({ ip: '198.51.100.7', protocol: 'https' });
    const direct = await proxied.inject({ method: 'GET', url: '/whoami', remoteAddress: '203.0.113.9', headers: forwarded });
    expect(direct.json()).toEqual({ ip: '203.0.113.9', protocol: 'http' });
  });
});
