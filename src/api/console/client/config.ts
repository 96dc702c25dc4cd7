// What the server put on the page's root element (src/api/console/page.ts): the settings the
// script runs with, defaulted and bounded as the server cannot vouch for a hand-edited page.

export interface ConsoleConfig {
  namespace: string;
  /** Temporal Web UI base URL without a trailing slash; empty = no links into it. */
  uiUrl: string;
  refreshMs: number;
  /** How many samples the charts keep. */
  samples: number;
}

export function readConfig(root: HTMLElement): ConsoleConfig {
  return {
    namespace: root.dataset.namespace || 'default',
    uiUrl: (root.dataset.uiUrl || '').replace(/\/+$/, ''),
    refreshMs: Math.max(500, Number(root.dataset.refreshMs) || 3000),
    samples: Math.max(2, Number(root.dataset.samples) || 120),
  };
}
