// The status page's one script, served as /console/app.js (so the page's Content-Security-Policy
// can say script-src 'self' and allow no inline script). Plain browser JavaScript, nothing to
// build: it asks /api/stats every few seconds and keeps the last samples (in memory, and in
// sessionStorage so a reload keeps them) for the charts (inline SVG), lists failed leads,
// problem automation runs and recent leads, and sends the re-drives. Every value from the API
// reaches the page as text (textContent), never as HTML.
//
// Kept as a string (String.raw: no escapes processed; the script uses no backticks and no
// dollar-brace) so the build needs no bundler; test/api/console.test.ts compiles it and
// test/e2e/console.test.ts runs it in Chromium.

export const CONSOLE_SCRIPT = String.raw`'use strict';
(function () {
  var root = document.getElementById('console');
  if (!root) return;
  var cfg = {
    namespace: root.dataset.namespace || 'default',
    uiUrl: (root.dataset.uiUrl || '').replace(/\/+$/, ''),
    refreshMs: Math.max(500, Number(root.dataset.refreshMs) || 3000),
    samples: Math.max(2, Number(root.dataset.samples) || 120),
  };
  var KEY = 'ao-console-api-key';
  var SAMPLES = 'ao-console-samples';
  var REDRIVE_SHOWN_MS = 30000;
  var samples = [];
  var redriving = new Map();
  var timer;
  var ticking = false;
  var needKey = false;
  var runsAvailable = true;

  var $ = function (id) { return document.getElementById(id); };

  // ---- the API -------------------------------------------------------------------------

  function ApiError(status, code, message, retryAfter) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.retryAfter = retryAfter;
  }

  function storedKey() {
    try { return sessionStorage.getItem(KEY) || ''; } catch (e) { return ''; }
  }

  async function api(method, path, body) {
    var headers = { accept: 'application/json' };
    var key = storedKey();
    if (key) headers.authorization = 'Bearer ' + key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res;
    try {
      res = await fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'unreachable', 'the API did not answer (' + e.message + ')');
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.ok) return data;
    var err = data && data.error ? data.error : {};
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || 'HTTP ' + res.status, res.headers.get('retry-after'));
  }

  // ---- building the page ---------------------------------------------------------------

  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === undefined || child === null) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function uiHref(workflowId) {
    if (!cfg.uiUrl) return undefined;
    return cfg.uiUrl + '/namespaces/' + encodeURIComponent(cfg.namespace) + '/workflows/' + encodeURIComponent(workflowId);
  }

  /** The id as a link into the Temporal Web UI when one is configured, else as text. */
  function workflowLink(text, workflowId) {
    var href = uiHref(workflowId);
    var code = el('code', { text: text });
    if (!href) return code;
    return el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', title: 'open ' + workflowId + ' in the Temporal Web UI' }, code);
  }

  function time(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
  }

  function fillTable(tableId, rows, emptyId) {
    var body = $(tableId).tBodies[0];
    body.replaceChildren.apply(body, rows);
    $(tableId).hidden = rows.length === 0;
    $(emptyId).hidden = rows.length !== 0;
  }

  function notice(text, isError) {
    var n = $('notice');
    n.textContent = text;
    n.className = isError ? 'notice error' : 'notice';
  }

  function status(text, isError) {
    var s = $('status');
    s.textContent = text;
    s.className = isError ? 'status error' : 'status';
  }

  // ---- charts: inline SVG polylines over the samples kept ------------------------------

  var W = 600;
  var H = 120;

  /** Each series: its name and one value per sample (samples[i].at), placed by time over the window. */
  function drawChart(containerId, series) {
    var ns = 'http://www.w3.org/2000/svg';
    var now = Date.now();
    var windowMs = cfg.samples * cfg.refreshMs;
    var max = 1;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    series.forEach(function (s, index) {
      if (s.values.length === 0) return;
      var points = s.values.map(function (v, i) {
        var x = W - ((now - samples[i].at) / windowMs) * W;
        var y = H - 2 - (v / max) * (H - 4);
        return Math.max(0, x).toFixed(1) + ',' + y.toFixed(1);
      });
      if (points.length === 1) points.push(W + ',' + points[0].split(',')[1]);
      var line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', points.join(' '));
      line.setAttribute('class', 'series-' + index);
      svg.append(line);
    });
    var legend = el('ul', { className: 'legend' });
    series.forEach(function (s, index) {
      var last = s.values.length ? s.values[s.values.length - 1] : undefined;
      legend.append(el('li', { className: 'series-' + index }, s.name + ': ' + (last === undefined ? '–' : format(last))));
    });
    var scale = el('span', { className: 'scale', text: 'max ' + format(max) + ' · last ' + Math.round(windowMs / 60000) + ' min' });
    svg.setAttribute('aria-label', series.map(function (s) { return s.name; }).join(', ') + ', up to ' + format(max));
    $(containerId).replaceChildren(scale, svg, legend);
  }

  // The samples outlive a reload of the page (sessionStorage, this tab only), not the window.
  function keepSamples() {
    var oldest = Date.now() - cfg.samples * cfg.refreshMs;
    while (samples.length > 0 && (samples.length > cfg.samples || samples[0].at < oldest)) samples.shift();
    try { sessionStorage.setItem(SAMPLES, JSON.stringify(samples)); } catch (e) { /* full or private: memory only */ }
  }

  function restoreSamples() {
    try {
      var kept = JSON.parse(sessionStorage.getItem(SAMPLES) || '[]');
      if (Array.isArray(kept)) kept.forEach(function (s) { if (s && typeof s.at === 'number' && s.backlog) samples.push(s); });
    } catch (e) { /* nothing usable kept */ }
    keepSamples();
  }

  function format(n) {
    return Number.isInteger(n) ? String(n) : n.toFixed(1);
  }

  // ---- figures -------------------------------------------------------------------------

  async function refreshStats() {
    var stats = await api('GET', '/api/stats');
    var backlogByQueue = {};
    var rows = [];
    var total = 0;
    Object.keys(stats.task_queues).sort().forEach(function (queue) {
      var q = stats.task_queues[queue];
      backlogByQueue[queue] = q.workflow.backlog + q.activity.backlog;
      total += backlogByQueue[queue];
      ['workflow', 'activity'].forEach(function (type) {
        var t = q[type];
        rows.push(el('tr', { className: t.backlog > 0 ? 'warn' : '' },
          el('td', { text: queue }), el('td', { text: type }), el('td', { className: 'num', text: t.backlog }),
          el('td', { className: 'num', text: t.backlog_age_s.toFixed(1) + ' s' }), el('td', { className: 'num', text: t.add_rate.toFixed(1) }),
          el('td', { className: 'num', text: t.dispatch_rate.toFixed(1) }), el('td', { className: 'num', text: t.pollers })));
      });
    });
    $('queues').tBodies[0].replaceChildren.apply($('queues').tBodies[0], rows);
    $('fig-accepted').textContent = stats.last_minute.leads_accepted;
    $('fig-synced').textContent = stats.last_minute.leads_synced;
    $('fig-backlog').textContent = total;
    $('fig-retrying').textContent = stats.leads.retrying;
    $('fig-failed').textContent = stats.leads.failed;
    $('fig-retrying').parentElement.className = stats.leads.retrying > 0 ? 'bad' : '';
    $('fig-failed').parentElement.className = stats.leads.failed > 0 ? 'bad' : '';
    $('fig-backlog').parentElement.className = total > 0 ? 'warn' : '';

    samples.push({ at: Date.now(), accepted: stats.last_minute.leads_accepted, synced: stats.last_minute.leads_synced, backlog: backlogByQueue });
    keepSamples();
    drawChart('chart-throughput', [
      { name: 'accepted/min', values: samples.map(function (s) { return s.accepted; }) },
      { name: 'synced/min', values: samples.map(function (s) { return s.synced; }) },
    ]);
    drawChart('chart-backlog', Object.keys(backlogByQueue).map(function (queue) {
      return { name: queue, values: samples.map(function (s) { return s.backlog[queue] || 0; }) };
    }));
  }

  // ---- lists ---------------------------------------------------------------------------

  function actionButton(label, busyLabel, busy, onClick, attrs) {
    var button = el('button', Object.assign({ type: 'button', text: busy ? busyLabel : label }, attrs));
    button.disabled = busy;
    button.addEventListener('click', function () {
      button.disabled = true;
      button.textContent = busyLabel;
      onClick().catch(function () { button.disabled = false; button.textContent = label; });
    });
    return button;
  }

  function isRedriving(id) {
    var until = redriving.get(id);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    redriving.delete(id);
    return false;
  }

  function failedLeadRow(item) {
    var lead = item.lead;
    var state = item.state === 'retrying' && item.retrying
      ? 'retrying ' + item.retrying.activity + ' (attempt ' + item.retrying.attempt + ')'
      : 'failed, waiting for its repair';
    var error = (item.retrying && item.retrying.last_failure) || lead.crm.last_error || '';
    return el('tr', { 'data-lead-id': lead.id, className: 'bad' },
      el('td', {}, workflowLink(lead.id, 'lead-' + lead.id)),
      el('td', { text: lead.email }), el('td', { text: lead.stage }), el('td', { text: state }),
      el('td', { className: 'error-text', text: error, title: error }),
      el('td', {}, actionButton('Retry', 'Re-driving …', isRedriving(lead.id), function () { return retryLead(lead.id); }, { 'data-action': 'retry-lead' })));
  }

  var RETRYABLE = ['failed', 'cancelled', 'terminated', 'timed_out'];

  function runRow(run) {
    var state = run.retrying ? run.status + ', retrying ' + run.retrying.activity + ' (attempt ' + run.retrying.attempt + ')' : run.status;
    var action = RETRYABLE.indexOf(run.status) >= 0
      ? actionButton('Retry', 'Retrying …', false, function () { return runAction(run.run_id, 'retry'); }, { 'data-action': 'retry-run' })
      : actionButton('Cancel', 'Cancelling …', false, function () { return runAction(run.run_id, 'cancel'); }, { 'data-action': 'cancel-run' });
    return el('tr', { 'data-run-id': run.run_id, className: 'bad' },
      el('td', {}, workflowLink(run.run_id, run.run_id)), el('td', { text: run.automation_id }),
      el('td', {}, workflowLink(run.lead_id, 'lead-' + run.lead_id)), el('td', { text: state }),
      el('td', { text: time(run.started_at) }), el('td', {}, action));
  }

  function recentLeadRow(lead) {
    return el('tr', { 'data-lead-id': lead.id, className: lead.crm.status === 'failed' ? 'bad' : '' },
      el('td', {}, workflowLink(lead.id, 'lead-' + lead.id)), el('td', { text: lead.email }),
      el('td', { text: lead.stage }), el('td', { className: 'num', text: lead.score }),
      el('td', { text: lead.crm.status }), el('td', { text: time(lead.updated_at) }));
  }

  async function refreshFailedLeads() {
    var page = await api('GET', '/api/leads/failed?limit=50');
    fillTable('failed-leads', page.items.map(failedLeadRow), 'failed-leads-empty');
    $('failed-leads-more').hidden = !page.next_cursor;
    $('retry-all').disabled = page.items.length === 0;
  }

  async function refreshRuns() {
    if (!runsAvailable) return;
    var pages;
    try {
      pages = await Promise.all([api('GET', '/api/automation-runs/failed?limit=20'), api('GET', '/api/automation-runs/failed?status=stuck&limit=20')]);
    } catch (e) {
      // An API built without automations has no such routes: the section goes away.
      if (e instanceof ApiError && e.status === 404) {
        runsAvailable = false;
        $('runs-section').hidden = true;
        return;
      }
      throw e;
    }
    fillTable('failed-runs', pages[0].items.concat(pages[1].items).map(runRow), 'failed-runs-empty');
  }

  async function refreshRecent() {
    var page = await api('GET', '/api/leads?limit=10');
    fillTable('recent-leads', page.items.map(recentLeadRow), 'recent-leads-empty');
  }

  // ---- actions -------------------------------------------------------------------------

  function explain(e) {
    if (!(e instanceof ApiError)) return String(e);
    return e.code + ': ' + e.message + (e.retryAfter ? ' (try again in ' + e.retryAfter + ' s)' : '');
  }

  async function act(work, done) {
    try {
      var answer = await work();
      notice(done(answer), false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) askForKey(true);
      notice(explain(e), true);
      throw e;
    } finally {
      refreshLists().catch(function () { /* the next tick shows it */ });
    }
  }

  function retryLead(id) {
    return act(function () { return api('POST', '/api/leads/' + encodeURIComponent(id) + '/retry'); }, function () {
      redriving.set(id, Date.now() + REDRIVE_SHOWN_MS);
      return 'Lead ' + id + ': re-drive sent; it leaves this list once its CRM sync succeeds.';
    });
  }

  function retryAll() {
    return act(function () { return api('POST', '/api/leads/retry', { filter: {} }); }, function (job) {
      return 'Bulk re-drive ' + job.job_id + ' started: ' + job.matched + ' failed lead(s) matched.';
    });
  }

  function runAction(runId, verb) {
    return act(function () { return api('POST', '/api/automation-runs/' + encodeURIComponent(runId) + '/' + verb); }, function (answer) {
      return verb === 'retry' ? 'Run ' + runId + ' retried as ' + answer.run_id + '.' : 'Run ' + runId + ': cancel requested.';
    });
  }

  // ---- the refresh loop ----------------------------------------------------------------

  function refreshLists() {
    return Promise.all([refreshFailedLeads(), refreshRuns(), refreshRecent()]);
  }

  function askForKey(refused) {
    needKey = true;
    if (refused && storedKey()) {
      try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing stored */ }
      $('key-reason').textContent = 'The API refused that key. Enter a valid API key.';
    }
    $('key-form').hidden = false;
    $('content').hidden = true;
    $('forget-key').hidden = true;
    status('API key needed', true);
    $('key-input').focus();
  }

  async function tick() {
    clearTimeout(timer);
    if (ticking) return;
    ticking = true;
    try {
      if (needKey || document.hidden) return;
      var results = await Promise.allSettled([refreshStats(), refreshLists()]);
      var failures = results.filter(function (r) { return r.status === 'rejected'; }).map(function (r) { return r.reason; });
      if (failures.some(function (e) { return e instanceof ApiError && e.status === 401; })) {
        askForKey(true);
        return;
      }
      $('forget-key').hidden = !storedKey();
      if (failures.length > 0) status('updated with errors at ' + new Date().toLocaleTimeString() + ': ' + explain(failures[0]) + '; trying again', true);
      else status('updated ' + new Date().toLocaleTimeString() + ', every ' + (cfg.refreshMs / 1000) + ' s', false);
    } finally {
      ticking = false;
      if (!needKey) timer = setTimeout(tick, cfg.refreshMs);
    }
  }

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var key = $('key-input').value.trim();
    if (!key) return;
    try { sessionStorage.setItem(KEY, key); } catch (e) { /* private mode: asked again next time */ }
    $('key-input').value = '';
    $('key-form').hidden = true;
    $('content').hidden = false;
    needKey = false;
    status('loading …', false);
    tick();
  });
  $('forget-key').addEventListener('click', function () {
    try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing stored */ }
    location.reload();
  });
  $('retry-all').addEventListener('click', function () {
    var button = $('retry-all');
    button.disabled = true;
    retryAll().catch(function () { /* shown in the notice */ }).finally(function () { button.disabled = false; });
  });
  document.addEventListener('visibilitychange', function () { if (!document.hidden) tick(); });
  restoreSamples();
  tick();
})();
`;
