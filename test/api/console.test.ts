import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, buildOpsApp, type AppDeps, type ConsoleOptions } from '../../src/api/app.js';
import { consoleOptionsFromConfig } from '../../src/api/compose.js';
import { escapeHtml, renderConsolePage, savedViewQueries, temporalUiLink } from '../../src/api/console/page.js';
import { CLIENT_MODULES, loadClientModules } from '../../src/api/console/client-modules.js';
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
    expect(page.body).toContain('<script type="module" src="/console/app.js"></script>');
    // No inline script or style for the policy to refuse.
    expect(page.body).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style="/);
    expect(page.body).toContain('data-ui-url="http://127.0.0.1:8233"');
    expect(page.body).toContain('id="retry-all"');

    const script = await a.inject({ method: 'GET', url: '/console/app.js' });
    expect([script.statusCode, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(script.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(script.body).toMatch(/^import .* from '\.\/api\.js';$/m);
    const styles = await a.inject({ method: 'GET', url: '/console/app.css' });
    expect([styles.statusCode, styles.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
  });

  it('serves the script as ES modules whose imports are all served, as JavaScript, revalidated by ETag', async () => {
    const a = await appWith({ console: view });
    const served = new Map<string, string>();
    const pending = ['/console/app.js'];
    for (let url = pending.pop(); url !== undefined; url = pending.pop()) {
      if (served.has(url)) continue;
      const res = await a.inject({ method: 'GET', url });
      expect([res.statusCode, res.headers['content-type'], res.headers['cache-control']], url).toEqual([200, 'text/javascript; charset=utf-8', 'no-cache']);
      served.set(url, res.body);
      // The browser resolves each import against the module's URL: /console/<name>.js.
      for (const [, specifier] of res.body.matchAll(/^(?:import|export) [^;]*? from '([^']+)';$/gm)) {
        expect(specifier, url).toMatch(/^\.\/[a-z-]+\.js$/);
        pending.push(new URL(specifier!, `http://x${url}`).pathname);
      }
      // Compiled: no TypeScript left, and no way for API data to become HTML.
      expect(res.body, url).not.toMatch(/^import type |: Promise<|\binterface /m);
      expect(res.body, url).not.toMatch(/\.innerHTML|insertAdjacentHTML|document\.write/);
    }
    expect([...served.keys()].sort()).toEqual(['actions', 'api', 'app', 'charts', 'config', 'dom', 'figures', 'lists'].map((m) => `/console/${m}.js`));

    const first = await a.inject({ method: 'GET', url: '/console/dom.js' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await a.inject({ method: 'GET', url: '/console/dom.js', headers: { 'if-none-match': etag } });
    expect([again.statusCode, again.body, again.headers.etag]).toEqual([304, '', etag]);
    const other = await a.inject({ method: 'GET', url: '/console/api.js', headers: { 'if-none-match': etag } });
    expect(other.statusCode).toBe(200);
    const css = await a.inject({ method: 'GET', url: '/console/app.css' });
    expect((await a.inject({ method: 'GET', url: '/console/app.css', headers: { 'if-none-match': css.headers.etag as string } })).statusCode).toBe(304);
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

});

describe("the script's modules", () => {
  it('are every module of the client folder', async () => {
    const files = await readdir(new URL('../../src/api/console/client/', import.meta.url));
    const modules = files.filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect([...CLIENT_MODULES].sort()).toEqual(modules.sort());
  });

  it('are read as built (.js) outside the sources, and a missing build says how to make one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'console-client-'));
    try {
      const url = pathToFileURL(`${dir}/`);
      await expect(loadClientModules(url, false)).rejects.toThrow(/status page's script is missing .*app\.js.*npm run build/);
      for (const name of CLIENT_MODULES) await writeFile(join(dir, `${name}.js`), `// built ${name}\n`);
      const modules = await loadClientModules(url, false);
      expect(modules.get('lists')?.body).toBe('// built lists\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
