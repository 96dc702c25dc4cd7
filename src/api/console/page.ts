// The status page's HTML (GET /console): a shell rendered on the server from configuration
// only. The figures and lists come from the API's own routes, asked by the page's script
// (the ES modules of console/client/) with the visitor's API key, so the shell itself holds no data and can
// be served to anyone.

export interface ConsoleView {
  namespace: string;
  /** The task queue whose leads and runs the page lists (the API's own). */
  taskQueue: string;
  /** Temporal Web UI base URL (http or https); unset = no links into it. */
  temporalUiUrl?: string | undefined;
  /** How often the script asks for fresh figures and lists. */
  refreshMs: number;
  /** How many samples of the figures the script keeps for its charts. */
  samples: number;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A Web UI page of one workflow, or of the workflows a visibility query selects. */
export function temporalUiLink(base: string, namespace: string, target: { workflowId: string } | { query: string }): string {
  const root = `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  return 'workflowId' in target ? `${root}/${encodeURIComponent(target.workflowId)}` : `${root}?query=${encodeURIComponent(target.query)}`;
}

/** The Web UI queries behind the saved views of docs/operating.md (failed work and re-drive), for links beside each list. */
export function savedViewQueries(taskQueue: string): { failedLeads: string; failedRuns: string; runningRuns: string } {
  const queue = `TaskQueue = "${taskQueue.replace(/["\\]/g, '\\$&')}"`;
  return {
    failedLeads: `WorkflowType = "leadWorkflow" AND ExecutionStatus = "Running" AND ${queue} AND LeadCrmStatus = "failed"`,
    failedRuns: `WorkflowType = "automationRun" AND ${queue} AND ExecutionStatus IN ("Failed", "TimedOut", "Terminated")`,
    runningRuns: `WorkflowType = "automationRun" AND ${queue} AND ExecutionStatus = "Running"`,
  };
}

function webUiLink(view: ConsoleView, query: string, text: string): string {
  if (!view.temporalUiUrl) return '';
  const href = temporalUiLink(view.temporalUiUrl, view.namespace, { query });
  return ` <a class="ui-link" href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

export function renderConsolePage(view: ConsoleView): string {
  const where = `namespace ${view.namespace}, task queue ${view.taskQueue}`;
  const ui = view.temporalUiUrl
    ? `<a href="${escapeHtml(view.temporalUiUrl)}" target="_blank" rel="noopener noreferrer">Temporal Web UI</a>`
    : '<span title="set TEMPORAL_UI_URL to link leads and runs into it">Temporal Web UI: not configured</span>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Automation Orchestrator · console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<div id="console" data-namespace="${escapeHtml(view.namespace)}" data-ui-url="${escapeHtml(view.temporalUiUrl ?? '')}" data-refresh-ms="${escapeHtml(view.refreshMs)}" data-samples="${escapeHtml(view.samples)}">
<header>
  <h1>Automation Orchestrator</h1>
  <p class="where">${escapeHtml(where)} · ${ui} · <a href="/docs">API docs</a></p>
  <p id="status" class="status" role="status">loading …</p>
</header>

<form id="key-form" class="key-form" hidden>
  <p id="key-reason">This API needs an API key.</p>
  <label>API key <input id="key-input" type="password" autocomplete="off" required minlength="16"></label>
  <button type="submit">Use key</button>
  <span class="hint">kept in this tab only (sessionStorage)</span>
</form>

<main id="content">
${figuresSection(view)}

${listSections(view)}
</main>
<footer><button type="button" id="forget-key" hidden>Forget API key</button></footer>
</div>
</body>
</html>
`;
}

/** The figures, the charts and the task queues' table. */
function figuresSection(view: ConsoleView): string {
  return `<section aria-labelledby="figures-h">
  <h2 id="figures-h">Now</h2>
  <dl class="figures" id="figures">
    <div><dt>accepted, last minute</dt><dd id="fig-accepted">–</dd></div>
    <div><dt>synced, last minute</dt><dd id="fig-synced">–</dd></div>
    <div><dt>backlog</dt><dd id="fig-backlog">–</dd></div>
    <div><dt>retrying</dt><dd id="fig-retrying">–</dd></div>
    <div><dt>failed</dt><dd id="fig-failed">–</dd></div>
  </dl>
  <div class="charts">
    <figure><figcaption>Throughput: new leads accepted and synced per minute</figcaption><div id="chart-throughput" class="chart"></div></figure>
    <figure><figcaption>Backlog: tasks waiting per task queue</figcaption><div id="chart-backlog" class="chart"></div></figure>
  </div>
  <p class="hint" id="chart-hint">Charts show what this tab has seen while the page was open: one sample every ${escapeHtml((view.refreshMs / 1000).toFixed(1))} s over the last ${escapeHtml(Math.round((view.refreshMs * view.samples) / 60_000))} minutes.</p>
  <table id="queues"><caption>Task queues</caption>
    <thead><tr><th>queue</th><th>tasks</th><th class="num">backlog</th><th class="num">oldest</th><th class="num">added/s</th><th class="num">dispatched/s</th><th class="num">pollers</th></tr></thead>
    <tbody></tbody>
  </table>
</section>`;
}

/** Failed leads, automation runs needing attention and recent leads, each with its Web UI link. */
function listSections(view: ConsoleView): string {
  const queries = savedViewQueries(view.taskQueue);
  return `<section aria-labelledby="failures-h">
  <h2 id="failures-h">Failed leads${webUiLink(view, queries.failedLeads, 'in the Web UI')}</h2>
  <p><button type="button" id="retry-all">Retry all failed</button> <span id="notice" class="notice" role="status"></span></p>
  <table id="failed-leads">
    <thead><tr><th>lead</th><th>email</th><th>stage</th><th>state</th><th>last error</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="failed-leads-empty" hidden>No failed leads.</p>
  <p class="hint" id="failed-leads-more" hidden>Showing the first 50: <code>ao leads failed</code> or the Web UI view lists them all; Retry all failed re-drives them all.</p>
</section>

<section aria-labelledby="runs-h" id="runs-section">
  <h2 id="runs-h">Automation runs needing attention${webUiLink(view, queries.failedRuns, 'failed')}${webUiLink(view, queries.runningRuns, 'running')}</h2>
  <table id="failed-runs">
    <thead><tr><th>run</th><th>automation</th><th>lead</th><th>status</th><th>started</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="failed-runs-empty" hidden>No failed or stuck runs.</p>
</section>

<section aria-labelledby="recent-h">
  <h2 id="recent-h">Recent leads</h2>
  <table id="recent-leads">
    <thead><tr><th>lead</th><th>email</th><th>stage</th><th class="num">score</th><th>CRM</th><th>updated</th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="recent-leads-empty" hidden>No leads yet.</p>
</section>`;
}
