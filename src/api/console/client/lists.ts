// The lists: failed leads, automation runs needing attention and recent leads, each id linked
// into the Temporal Web UI when one is configured, with the buttons that act on them.

import { api, ApiError } from './api.js';
import type { AutomationRun, FailedLead, Lead, Page } from './api-types.js';
import type { Actions } from './actions.js';
import type { ConsoleConfig } from './config.js';
import { byId, el, fillTable, formatTime } from './dom.js';

/** Run statuses a retry applies to; any other run on the list is stuck, and can be cancelled. */
const RETRYABLE = ['failed', 'cancelled', 'terminated', 'timed_out'];

/** Disabled, saying what it does, while its action runs; back as it was if the action fails. */
function actionButton(label: string, busyLabel: string, busy: boolean, onClick: () => Promise<void>, action: string): HTMLButtonElement {
  const button = el('button', { type: 'button', text: busy ? busyLabel : label, 'data-action': action });
  button.disabled = busy;
  button.addEventListener('click', () => {
    button.disabled = true;
    button.textContent = busyLabel;
    onClick().catch(() => {
      button.disabled = false;
      button.textContent = label;
    });
  });
  return button;
}

/** The id as a link into the Temporal Web UI when one is configured, else as text. */
function workflowLink(cfg: ConsoleConfig, text: string, workflowId: string): HTMLElement {
  const code = el('code', { text });
  if (!cfg.uiUrl) return code;
  const href = cfg.uiUrl + '/namespaces/' + encodeURIComponent(cfg.namespace) + '/workflows/' + encodeURIComponent(workflowId);
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer', title: 'open ' + workflowId + ' in the Temporal Web UI' }, code);
}

function failedLeadRow(cfg: ConsoleConfig, actions: Actions, item: FailedLead): HTMLTableRowElement {
  const lead = item.lead;
  const state =
    item.state === 'retrying' && item.retrying ? 'retrying ' + item.retrying.activity + ' (attempt ' + item.retrying.attempt + ')' : 'failed, waiting for its repair';
  const error = item.retrying?.last_failure || lead.crm.last_error || '';
  const retry = actionButton('Retry', 'Re-driving …', actions.isRedriving(lead.id), () => actions.retryLead(lead.id), 'retry-lead');
  return el(
    'tr',
    { 'data-lead-id': lead.id, className: 'bad' },
    el('td', {}, workflowLink(cfg, lead.id, 'lead-' + lead.id)),
    el('td', { text: lead.email }),
    el('td', { text: lead.stage }),
    el('td', { text: state }),
    el('td', { className: 'error-text', text: error, title: error }),
    el('td', {}, retry),
  );
}

function runRow(cfg: ConsoleConfig, actions: Actions, run: AutomationRun): HTMLTableRowElement {
  const state = run.retrying ? run.status + ', retrying ' + run.retrying.activity + ' (attempt ' + run.retrying.attempt + ')' : run.status;
  const action = RETRYABLE.includes(run.status)
    ? actionButton('Retry', 'Retrying …', false, () => actions.runAction(run.run_id, 'retry'), 'retry-run')
    : actionButton('Cancel', 'Cancelling …', false, () => actions.runAction(run.run_id, 'cancel'), 'cancel-run');
  return el(
    'tr',
    { 'data-run-id': run.run_id, className: 'bad' },
    el('td', {}, workflowLink(cfg, run.run_id, run.run_id)),
    el('td', { text: run.automation_id }),
    el('td', {}, workflowLink(cfg, run.lead_id, 'lead-' + run.lead_id)),
    el('td', { text: state }),
    el('td', { text: formatTime(run.started_at) }),
    el('td', {}, action),
  );
}

function recentLeadRow(cfg: ConsoleConfig, lead: Lead): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-lead-id': lead.id, className: lead.crm.status === 'failed' ? 'bad' : '' },
    el('td', {}, workflowLink(cfg, lead.id, 'lead-' + lead.id)),
    el('td', { text: lead.email }),
    el('td', { text: lead.stage }),
    el('td', { className: 'num', text: lead.score }),
    el('td', { text: lead.crm.status }),
    el('td', { text: formatTime(lead.updated_at) }),
  );
}

/** The lists' refresh; the runs' section goes away for good on an API built without automations. */
export function createLists(cfg: ConsoleConfig, actions: Actions) {
  let runsAvailable = true;

  async function refreshFailedLeads(): Promise<void> {
    const page = await api<Page<FailedLead>>('GET', '/api/leads/failed?limit=50');
    fillTable('failed-leads', page.items.map((item) => failedLeadRow(cfg, actions, item)), 'failed-leads-empty');
    byId('failed-leads-more').hidden = !page.next_cursor;
    byId<HTMLButtonElement>('retry-all').disabled = page.items.length === 0;
  }

  async function refreshRuns(): Promise<void> {
    if (!runsAvailable) return;
    let pages: Page<AutomationRun>[];
    try {
      pages = await Promise.all([
        api<Page<AutomationRun>>('GET', '/api/automation-runs/failed?limit=20'),
        api<Page<AutomationRun>>('GET', '/api/automation-runs/failed?status=stuck&limit=20'),
      ]);
    } catch (e) {
      // An API built without automations has no such routes: the section goes away.
      if (e instanceof ApiError && e.status === 404) {
        runsAvailable = false;
        byId('runs-section').hidden = true;
        return;
      }
      throw e;
    }
    fillTable('failed-runs', pages.flatMap((p) => p.items).map((run) => runRow(cfg, actions, run)), 'failed-runs-empty');
  }

  async function refreshRecent(): Promise<void> {
    const page = await api<Page<Lead>>('GET', '/api/leads?limit=10');
    fillTable('recent-leads', page.items.map((lead) => recentLeadRow(cfg, lead)), 'recent-leads-empty');
  }

  return {
    /** Rejects with the first list's failure. */
    refresh(): Promise<unknown> {
      return Promise.all([refreshFailedLeads(), refreshRuns(), refreshRecent()]);
    },
  };
}
