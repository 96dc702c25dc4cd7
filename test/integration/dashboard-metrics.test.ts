// The worker runtime with its Prometheus exporter must be installed before the harness's.
import { workerMetricsUrl } from '../support/worker-metrics-runtime.js';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parse } from 'yaml';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { eventually, uniqueEmail } from '../support/harness.js';
import { exportedNamesOf, metricNamesOf } from '../support/promql.js';

// Every metric the committed Grafana dashboards and alert rules query is one the services
// export: the API's /metrics (with its watchdog's figures), a worker's SDK endpoint (Temporal
// SDK and business metrics) and the Temporal server's own (the test dev server: the same server code as the compose nodes, all roles in
// one process). One lead goes through happily and one through CRM 429s, retries and an SMTP
// failure, with an automation run, so that counters created on first use exist.

const DASHBOARDS = new URL('../../deploy/grafana/dashboards/', import.meta.url);
const ALERT_RULES = new URL('../../deploy/prometheus/alerts.yml', import.meta.url);
/** Series Prometheus makes itself, not any service. */
const PROMETHEUS_OWN = new Set(['up']);

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function dashboardQueries(): { file: string; panel: string; expr: string }[] {
  const out: { file: string; panel: string; expr: string }[] = [];
  const walk = (file: string, panels: Panel[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ file, panel: p.title ?? '?', expr: t.expr });
      walk(file, p.panels);
    }
  };
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
    walk(file, (JSON.parse(readFileSync(new URL(file, DASHBOARDS), 'utf8')) as { panels?: Panel[] }).panels);
  }
  return out;
}

function alertQueries(): { file: string; panel: string; expr: string }[] {
  const { groups } = parse(readFileSync(ALERT_RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return groups.flatMap((g) => g.rules.map((r) => ({ file: 'alerts.yml', panel: r.alert, expr: r.expr })));
}

const text = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  expect(res.status, url).toBe(200);
  return res.text();
};

let server: ApiServer;

beforeAll(async () => {
  server = await startApiServer({ WATCHDOG_INTERVAL_MS: '1000' });
});

afterAll(async () => {
  await server?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('Grafana dashboards and alert rules', () => {
  it('query only metrics that the API, the workers and the Temporal server export', { timeout: 120_000 }, async () => {
    const queries = [...dashboardQueries(), ...alertQueries()];
    expect(queries.length).toBeGreaterThan(10);
    const wanted = new Set(queries.flatMap((q) => metricNamesOf(q.expr)).filter((name) => !PROMETHEUS_OWN.has(name)));
    // One of each source at least, so an extraction that finds nothing cannot pass.
    for (const name of ['http_request_duration_seconds_bucket', 'temporal_activity_execution_latency_bucket', 'automation_runs', 'numshards_gauge', 'task_queue_backlog_age_seconds', 'crm_rate_limited']) {
      expect(wanted).toContain(name);
    }

    const { crm, smtp } = server.harness;
    // A happy lead that starts the welcome-nurture automation (a week in 6 s at the test time scale).
    expect((await post('/api/leads', { email: uniqueEmail('dash-ok'), first_name: 'Ada', tags: ['nurture'] })).status).toBe(202);
    await eventually(async () => (crm.contacts().length >= 1 && smtp.messages().length >= 1 ? true : undefined), { what: 'first lead synced and mailed' });
    // A lead whose CRM sync meets 429s until its attempts are spent, and whose welcome email fails once.
    crm.setFaults({ rate429: 1 });
    smtp.setFaults({ failNext: 1 });
    expect((await post('/api/leads', { email: uniqueEmail('dash-fail') })).status).toBe(202);
    // A 404 from the Temporal server, so its per-type error counter exists.
    await server.harness.client.workflow.getHandle('no-such-workflow-for-metrics').describe().catch(() => undefined);

    const temporalMetricsUrl = inject('temporalMetricsUrl');
    let missing: string[] = [];
    await eventually(
      async () => {
        const exported = new Set([
          ...exportedNamesOf(await text(server.metricsUrl)),
          ...exportedNamesOf(await text(workerMetricsUrl)),
          ...exportedNamesOf(await text(temporalMetricsUrl)),
        ]);
        missing = [...wanted].filter((name) => !exported.has(name));
        return missing.length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'every dashboard metric to be exported' },
    ).catch(() => undefined);
    const where = missing.map((name) => `${name} (${queries.filter((q) => metricNamesOf(q.expr).includes(name)).map((q) => `${q.file}: ${q.panel}`).join('; ')})`);
    expect(where).toEqual([]);
  });
});
