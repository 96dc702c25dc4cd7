// The status page's script (/console/app.js, an ES module: the browser loads the modules it
// imports from /console/ too). It asks /api/stats and the lists every few seconds while the
// tab is visible, asks for the API key when the API wants one, and wires the page's buttons.
// Served by src/api/routes/console.ts; test/e2e/console.test.ts runs it in Chromium.

import { ApiError, explain, forgetKey, storedKey, storeKey } from './api.js';
import { createActions } from './actions.js';
import { restoreSamples } from './charts.js';
import { readConfig } from './config.js';
import { byId, showStatus } from './dom.js';
import { refreshStats } from './figures.js';
import { createLists } from './lists.js';

function start(root: HTMLElement): void {
  const cfg = readConfig(root);
  const samples = restoreSamples(cfg);
  const actions = createActions({ onRefused: () => askForKey(true), refreshLists: () => lists.refresh() });
  const lists = createLists(cfg, actions);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ticking = false;
  let needKey = false;

  function askForKey(refused: boolean): void {
    needKey = true;
    if (refused && storedKey()) {
      forgetKey();
      byId('key-reason').textContent = 'The API refused that key. Enter a valid API key.';
    }
    byId('key-form').hidden = false;
    byId('content').hidden = true;
    byId('forget-key').hidden = true;
    showStatus('API key needed', true);
    byId('key-input').focus();
  }

  /** One refresh of everything, then the next one scheduled (none while the key is wanted). */
  async function tick(): Promise<void> {
    clearTimeout(timer);
    if (ticking) return;
    ticking = true;
    try {
      if (needKey || document.hidden) return;
      const results = await Promise.allSettled([refreshStats(cfg, samples), lists.refresh()]);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failures.some((e) => e instanceof ApiError && e.status === 401)) {
        askForKey(true);
        return;
      }
      byId('forget-key').hidden = !storedKey();
      if (failures.length > 0) showStatus('updated with errors at ' + new Date().toLocaleTimeString() + ': ' + explain(failures[0]) + '; trying again', true);
      else showStatus('updated ' + new Date().toLocaleTimeString() + ', every ' + cfg.refreshMs / 1000 + ' s', false);
    } finally {
      ticking = false;
      if (!needKey) timer = setTimeout(() => void tick(), cfg.refreshMs);
    }
  }

  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('key-input');
    const key = input.value.trim();
    if (!key) return;
    storeKey(key);
    input.value = '';
    byId('key-form').hidden = true;
    byId('content').hidden = false;
    needKey = false;
    showStatus('loading …', false);
    void tick();
  });
  byId('forget-key').addEventListener('click', () => {
    forgetKey();
    location.reload();
  });
  byId('retry-all').addEventListener('click', () => {
    const button = byId<HTMLButtonElement>('retry-all');
    button.disabled = true;
    void actions
      .retryAll()
      .catch(() => {
        /* shown in the notice */
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void tick();
  });
  void tick();
}

const root = document.getElementById('console');
if (root) start(root);
