import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { eventually, uniqueEmail } from '../support/harness.js';

// The status page (/console, on the ops listener) in a real browser: Debian's Chromium driven by playwright-core,
// against the API over HTTP with workers on the shared dev server and the CRM simulator. The
// API has a key, so the page first asks for it. Then: a lead created here shows under recent
// leads, a CRM outage injected through the simulator's fault controls shows it under failed
// leads, and once the CRM is back its Retry button re-drives it off the list; then "Retry all
// failed" does the same for two at once. Screenshots of each step go to test-artifacts/console/.

const KEY = 'console-e2e-key-0123456789abcdef';
const UI = 'http://127.0.0.1:8233';
let api: ApiServer;
let browser: TestBrowser;
const pageProblems: string[] = [];

beforeAll(async () => {
  api = await startApiServer({
    API_KEYS: KEY,
    TEMPORAL_UI_URL: UI,
    CONSOLE_REFRESH_MS: '1000',
    // A failing CRM sync spends its attempts in well under a second, and the lead's own
    // repair timer stays out of the way: only the re-drive can bring it back.
    RETRY_MAX_ATTEMPTS: '2',
    RETRY_INITIAL_INTERVAL_MS: '200',
    RETRY_MAX_INTERVAL_MS: '200',
    CRM_RESYNC_INTERVAL_MS: '600000',
  });
  browser = await launchBrowser('console');
  // Script errors, and anything the Content-Security-Policy refused (the 401s and 409s the
  // page handles are logged by the browser too; they are not problems).
  browser.page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
  browser.page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

async function createLead(): Promise<string> {
  const res = await fetch(`${api.baseUrl}/api/leads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail('console'), first_name: 'Console' }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function crmFaults(faults: Record<string, unknown> | null): Promise<void> {
  const res = await fetch(`${api.harness.crm.url}/_sim/faults`, {
    method: faults ? 'POST' : 'DELETE',
    headers: faults ? { 'content-type': 'application/json' } : {},
    body: faults ? JSON.stringify(faults) : undefined,
  });
  expect(res.status).toBe(200);
}

describe('the status page in Chromium', () => {
  it('asks for the key, shows a new lead, a CRM failure and the re-drives that clear it', { timeout: 90_000 }, async () => {
    const { page } = browser;
    const response = await page.goto(`${api.opsUrl}/console`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toContain('Automation Orchestrator');

    // The shell is public; its data needs the key, which the page asks for and keeps in the tab.
    await page.locator('#key-form').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#status').textContent()).toBe('API key needed');
    expect(await page.locator('#content').isHidden()).toBe(true);
    await browser.screenshot('01-key-needed');
    // A wrong key is refused, dropped, and asked for again.
    await page.fill('#key-input', 'not-the-key-0123456789');
    await page.click('#key-form button[type=submit]');
    await expect.poll(() => page.locator('#key-reason').textContent()).toContain('refused that key');
    expect(await page.locator('#key-form').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('ao-console-api-key'))).toBeNull();
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type=submit]');
    await page.locator('#content').waitFor({ state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.getItem('ao-console-api-key'))).toBe(KEY);

    // A lead created now shows under recent leads, linked into the Temporal Web UI.
    const synced = await createLead();
    const recentRow = page.locator(`#recent-leads tr[data-lead-id="${synced}"]`);
    await recentRow.waitFor({ timeout: 20_000 });
    await expect.poll(() => recentRow.locator('td').nth(4).textContent(), { timeout: 20_000 }).toBe('synced');
    expect(await recentRow.locator('a').getAttribute('href')).toBe(`${UI}/namespaces/default/workflows/lead-${synced}`);
    await page.locator('#queues tbody tr').first().waitFor();
    expect(await page.locator('#chart-throughput polyline').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-backlog polyline').count()).toBe(2);
    expect(await page.locator('#status').getAttribute('class')).toBe('status');
    await browser.screenshot('02-lead-shown');

    // A reload keeps the key and the charts' samples (this tab's sessionStorage).
    const kept = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ao-console-samples') ?? '[]').length as number);
    expect(kept).toBeGreaterThan(1);
    await page.reload();
    await page.locator('#queues tbody tr').first().waitFor();
    expect(await page.locator('#key-form').isHidden()).toBe(true);
    const restored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('ao-console-samples') ?? '[]').length as number);
    expect(restored).toBeGreaterThan(kept);

    // The CRM goes down: a new lead's sync spends its attempts and the page lists it as failed.
    await crmFaults({ down: true });
    const failing = await createLead();
    const failedRow = page.locator(`#failed-leads tr[data-lead-id="${failing}"]`);
    await failedRow.waitFor({ timeout: 30_000 });
    expect(await failedRow.textContent()).toMatch(/503/);
    expect(await failedRow.locator('a').getAttribute('href')).toBe(`${UI}/namespaces/default/workflows/lead-${failing}`);
    await expect.poll(async () => Number(await page.locator('#fig-retrying').textContent()), { timeout: 10_000 }).toBeGreaterThan(0);
    await browser.screenshot('03-failure-shown');

    // The CRM is back; Retry re-drives the lead now (its own repair is ten minutes away).
    await crmFaults(null);
    await failedRow.locator('button[data-action="retry-lead"]').click();
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 10_000 }).toContain(`Lead ${failing}: re-drive sent`);
    await browser.screenshot('04-redrive-sent');
    await failedRow.waitFor({ state: 'detached', timeout: 30_000 });
    await eventually(async () => (api.harness.crm.contact(failing) ? true : undefined), { what: 'the CRM to hold the re-driven lead', timeoutMs: 5_000 });
    await expect.poll(() => page.locator(`#recent-leads tr[data-lead-id="${failing}"] td`).nth(4).textContent(), { timeout: 20_000 }).toBe('synced');
    expect(await page.locator('#failed-leads-empty').isVisible()).toBe(true);
    await browser.screenshot('05-failure-cleared');

    // Two more fail; "Retry all failed" re-drives both in one batch operation.
    await crmFaults({ down: true });
    const both = [await createLead(), await createLead()];
    const rows = both.map((id) => page.locator(`#failed-leads tr[data-lead-id="${id}"]`));
    for (const row of rows) await row.waitFor({ timeout: 30_000 });
    await crmFaults(null);
    await page.click('#retry-all');
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 15_000 }).toMatch(/^Bulk re-drive redrive-\S+ started: 2 failed lead\(s\) matched\.$/);
    for (const row of rows) await row.waitFor({ state: 'detached', timeout: 30_000 });
    for (const id of both) expect(api.harness.crm.contact(id)).toBeDefined();
    await browser.screenshot('06-bulk-redrive-cleared');

    expect(pageProblems).toEqual([]);
  });
});
