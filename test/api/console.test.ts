import { Script } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, buildOpsApp, type AppDeps, type ConsoleOptions } from '../../src/api/app.js';
import { consoleOptionsFromConfig } from '../../src/api/compose.js';
import { escapeHtml, renderConsolePage, savedViewQueries, temporalUiLink } from '../../src/api/console/page.js';
import { CONSOLE_SCRIPT } from '../../src/api/console/script.js';
import type { LeadService } from '../../src/leads/lead-service.js';
import { CONSOLE_CSP } from '../../src/api/routes/console.js';
import { apiKeysOf, loadConfig } from '../../src/config.js';

// The status page's shell, script and stylesheet as the API's ops listener serves them
// (app.inject; no Temporal: the page itself asks nothing of it), and never the public one.
// What the page shows in a browser is test/e2e/console.test.ts.

const KEY = 'console-test-key-0123456789';
const view: ConsoleOptions = { namespace: 'default', taskQueue: 'leads', temporalUiUrl: 'http://127.0.0.1:8233', refreshMs: 3000 };
let app: FastifyInstance | undefined;

async function appWith(options: Pick<AppDeps, 'console' | 'apiKeys'>): Promise<FastifyInstance> {
  // The page's routes never reach the lead service.
  app = await buildOpsApp({ leads: {} as LeadService, metrics: false, ...options });
  return app;
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /console', () => {
  it('serves the page, its script and its stylesheet with a policy that allows no inline script', async () => {
    const a = await appWith({ console: view });
    const page = await a.inject({ method: 'GET', url: '/console' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('<script src="/console/app.js" defer></script>');
    // No inline script or style for the policy to refuse.
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style="/);
    expect(page.body).toContain('data-ui-url="http://127.0.0.1:8233"');
    expect(page.body).toContain('id="retry-all"');

    const script = await a.inject({ method: 'GET', url: '/console/app.js' });
    expect([script.statusCode, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(script.body).toBe(CONSOLE_SCRIPT);
    const styles = await a.inject({ method: 'GET', url: '/console/app.css' });
    expect([styles.statusCode, styles.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
  });

  it('is not on the public listener, nor in its OpenAPI document', async () => {
    const pub = await buildApp({ leads: {} as LeadService, metrics: false, console: view, apiKeys: apiKeysOf({ API_KEYS: KEY }) });
    try {
      const auth = { authorization: `Bearer ${KEY}` };
      for (const url of ['/console', '/console/app.js', '/console/app.css']) {
        expect((await pub.inject({ method: 'GET', url, headers: auth })).statusCode, url).toBe(404);
        expect((await pub.inject({ method: 'GET', url })).statusCode, url).toBe(401);
      }
      const openapi = (await pub.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
      expect(Object.keys(openapi.paths).filter((p) => p.startsWith('/console'))).toEqual([]);
    } finally {
      await pub.close();
    }
  });

  it('needs no key when the API has keys, but holds no data: the data routes beside it still need the key', async () => {
    const a = await appWith({ console: view, apiKeys: apiKeysOf({ API_KEYS: KEY }) });
    expect((await a.inject({ method: 'GET', url: '/console' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/console/app.js' })).statusCode).toBe(200);
    const data = await a.inject({ method: 'GET', url: '/api/leads/failed' });
    expect(data.statusCode).toBe(401);
    // Unknown paths below /console are not a way around the key either.
    expect((await a.inject({ method: 'GET', url: '/console/nope' })).statusCode).toBe(401);
  });

  it('is absent from an app built without it', async () => {
    const a = await appWith({});
    expect((await a.inject({ method: 'GET', url: '/console' })).statusCode).toBe(404);
  });
});

describe('the page shell', () => {
  it('escapes every configured value it renders', () => {
    const html = renderConsolePage({
      namespace: '<img src=x onerror=alert(1)>',
      taskQueue: 'q"><script>alert(2)</script>',
      temporalUiUrl: 'http://ui.example/"onmouseover="alert(3)',
      refreshMs: 2000,
      samples: 60,
    });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('"onmouseover="');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('says the Web UI is not configured, and links nothing into it, without TEMPORAL_UI_URL', () => {
    const html = renderConsolePage({ ...view, temporalUiUrl: undefined, samples: 10 });
    expect(html).toContain('Temporal Web UI: not configured');
    expect(html).toContain('data-ui-url=""');
    expect(html).not.toContain('/namespaces/');
  });

  it('links the saved views and workflows into the Web UI', () => {
    const html = renderConsolePage({ ...view, samples: 10 });
    const failed = temporalUiLink('http://127.0.0.1:8233/', 'default', { query: savedViewQueries('leads').failedLeads });
    expect(failed).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows?query=' +
        encodeURIComponent('WorkflowType = "leadWorkflow" AND ExecutionStatus = "Running" AND TaskQueue = "leads" AND LeadCrmStatus = "failed"'),
    );
    expect(html).toContain(`href="${escapeHtml(failed)}"`);
    expect(temporalUiLink('https://ui.example/temporal', 'prod ns', { workflowId: 'lead-abc/def' })).toBe(
      'https://ui.example/temporal/namespaces/prod%20ns/workflows/lead-abc%2Fdef',
    );
  });

  it('ships a script that parses as one classic script, with no template literals to break the string it lives in', () => {
    expect(() => new Script(CONSOLE_SCRIPT, { filename: 'app.js' })).not.toThrow();
    expect(CONSOLE_SCRIPT).not.toContain('`');
    expect(CONSOLE_SCRIPT).not.toMatch(/\.innerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('configuration', () => {
  it('takes the Web UI URL and the refresh from the environment, http(s) only', () => {
    const options = consoleOptionsFromConfig(loadConfig({ TEMPORAL_UI_URL: 'https://temporal.example/ui', CONSOLE_REFRESH_MS: '1500' }));
    expect(options).toEqual({ namespace: 'default', taskQueue: 'leads', temporalUiUrl: 'https://temporal.example/ui', refreshMs: 1500 });
    expect(consoleOptionsFromConfig(loadConfig({})).temporalUiUrl).toBeUndefined();
    expect(() => loadConfig({ TEMPORAL_UI_URL: 'javascript:alert(1)' })).toThrow(/TEMPORAL_UI_URL/);
    expect(() => loadConfig({ CONSOLE_REFRESH_MS: '100' })).toThrow(/CONSOLE_REFRESH_MS/);
  });
});
