// What the page's buttons send: a lead's re-drive, the bulk re-drive of every failed lead, and
// a run's retry or cancel. Each says how it went in the notice and refreshes the lists.

import { api, ApiError, explain } from './api.js';
import type { BulkRedrive } from './api-types.js';
import { showNotice } from './dom.js';

/** How long a re-driven lead's row says "Re-driving …" while it still shows as failed. */
const REDRIVE_SHOWN_MS = 30_000;

export interface ActionHooks {
  /** The API refused the key. */
  onRefused(): void;
  refreshLists(): Promise<unknown>;
}

export type RunVerb = 'retry' | 'cancel';

export function createActions(hooks: ActionHooks) {
  const redriving = new Map<string, number>();

  /** Rejects when the action failed, so its button comes back. */
  async function act<T>(work: () => Promise<T>, done: (answer: T) => string): Promise<void> {
    try {
      const answer = await work();
      showNotice(done(answer), false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) hooks.onRefused();
      showNotice(explain(e), true);
      throw e;
    } finally {
      hooks.refreshLists().catch(() => {
        /* the next tick shows it */
      });
    }
  }

  return {
    isRedriving(id: string): boolean {
      const until = redriving.get(id);
      if (until === undefined) return false;
      if (Date.now() < until) return true;
      redriving.delete(id);
      return false;
    },

    retryLead(id: string): Promise<void> {
      return act(
        () => api('POST', '/api/leads/' + encodeURIComponent(id) + '/retry'),
        () => {
          redriving.set(id, Date.now() + REDRIVE_SHOWN_MS);
          return 'Lead ' + id + ': re-drive sent; it leaves this list once its CRM sync succeeds.';
        },
      );
    },

    retryAll(): Promise<void> {
      return act(
        () => api<BulkRedrive>('POST', '/api/leads/retry', { filter: {} }),
        (job) => 'Bulk re-drive ' + job.job_id + ' started: ' + job.matched + ' failed lead(s) matched.',
      );
    },

    runAction(runId: string, verb: RunVerb): Promise<void> {
      return act(
        () => api<{ run_id: string }>('POST', '/api/automation-runs/' + encodeURIComponent(runId) + '/' + verb),
        (answer) => (verb === 'retry' ? 'Run ' + runId + ' retried as ' + answer.run_id + '.' : 'Run ' + runId + ': cancel requested.'),
      );
    },
  };
}

export type Actions = ReturnType<typeof createActions>;
