import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { getFreePort } from '../../tooling/temporal/ports.js';
import { startApiServer, type ApiServer } from '../support/api-server.js';
import { eventually, uniqueEmail } from '../support/harness.js';
import { prometheusTool } from '../support/prometheus-tools.js';

// An alert that fires for real: Debian's prometheus and alertmanager on loopback, the shipped
// rules and Alertmanager config, Prometheus scraping the API (its watchdog on, asking the real
// Temporal dev server every second). Leads keep coming while the worker is stopped; the lead
// queue's backlog ages until TaskQueueBacklogOld, its threshold lowered from 5 minutes to
// 5 s, reaches Alertmanager's API. Nothing is faked between the watchdog and Alertmanager.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BACKLOG_ALERT = 'TaskQueueBacklogOld';
const THRESHOLD_S = 5;
const dir = mkdtempSync(join(tmpdir(), 'ao-alerts-'));

interface Daemon {
  child: ChildProcess;
  log: () => string;
}

/** Starts a daemon and waits until its readiness endpoint answers (it fails with its log otherwise). */
async function startDaemon(command: string, args: string[], readyUrl: string): Promise<Daemon> {
  let log = '';
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const daemon = { child, log: () => log };
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${command} exited (${child.exitCode}):\n${log}`);
      return (await fetch(readyUrl, { signal: AbortSignal.timeout(1000) })).ok ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `${command} to be ready at ${readyUrl}` },
  ).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message}\n--- ${command} ---\n${log.slice(-3000)}`);
  });
  return daemon;
}

async function stopDaemon(daemon: Daemon | undefined): Promise<void> {
  if (!daemon || daemon.child.exitCode !== null) return;
  const exited = new Promise((resolve) => daemon.child.once('exit', resolve));
  daemon.child.kill('SIGTERM');
  const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The shipped rules with the backlog rule's threshold and wait brought down to test scale. */
function rulesForTest(): string {
  const rules = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string; for?: string }[] }[] };
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === BACKLOG_ALERT);
  if (!rule || !/> 300$/.test(rule.expr)) throw new Error(`${BACKLOG_ALERT} no longer ends in "> 300": update this test`);
  rule.expr = rule.expr.replace(/> 300$/, `> ${THRESHOLD_S}`);
  rule.for = '2s';
  return stringify(rules);
}

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string };
}

let server: ApiServer;
let prometheus: Daemon | undefined;
let alertmanager: Daemon | undefined;
let promUrl = '';
let amUrl = '';

beforeAll(async () => {
  server = await startApiServer({ WATCHDOG_INTERVAL_MS: '1000' });
  const [promPort, amPort] = [await getFreePort(), await getFreePort()];
  promUrl = `http://127.0.0.1:${promPort}`;
  amUrl = `http://127.0.0.1:${amPort}`;

  alertmanager = await startDaemon(
    prometheusTool('alertmanager'),
    [
      `--config.file=${join(ROOT, 'deploy/alertmanager/alertmanager.yml')}`,
      `--storage.path=${join(dir, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      // No gossip port: a single instance.
      '--cluster.listen-address=',
    ],
    `${amUrl}/-/ready`,
  );

  writeFileSync(join(dir, 'alerts.yml'), rulesForTest());
  const api = new URL(server.metricsUrl);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      // The job name the rules select on, as in deploy/prometheus/prometheus.yml.
      scrape_configs: [{ job_name: 'api', metrics_path: api.pathname, static_configs: [{ targets: [api.host] }] }],
    }),
  );
  prometheus = await startDaemon(
    prometheusTool('prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    `${promUrl}/-/ready`,
  );
}, 60_000);

afterAll(async () => {
  await stopDaemon(prometheus);
  await stopDaemon(alertmanager);
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const postLead = () =>
  fetch(`${server.baseUrl}/api/leads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail('alert'), first_name: 'Alert' }),
  });

async function amAlerts(): Promise<AmAlert[]> {
  return (await (await fetch(`${amUrl}/api/v2/alerts`, { signal: AbortSignal.timeout(2000) })).json()) as AmAlert[];
}

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

describe('alerts', () => {
  it('fires the backlog alert into Alertmanager when the worker stops under load', { timeout: 120_000 }, async () => {
    const queue = server.harness.config.TEMPORAL_TASK_QUEUE;
    const ours = (a: AmAlert) => a.labels.alertname === BACKLOG_ALERT && a.labels.task_queue === queue;

    // Healthy first: the API is scraped, the watchdog sees the worker polling, no alert.
    const res = await postLead();
    expect(res.status, await res.text()).toBe(202);
    await eventually(async () => ((await query(`task_queue_pollers{task_queue="${queue}", task_type="workflow"} > 0`)).length > 0 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'Prometheus to scrape the watchdog seeing the worker poll',
    });
    expect((await amAlerts()).filter(ours)).toEqual([]);

    // Load, then the worker stops while the leads keep coming.
    let posting = true;
    let accepted = 0;
    const load = (async () => {
      while (posting) {
        if ((await postLead().catch(() => undefined))?.status === 202) accepted += 1;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const stoppedAt = Date.now();
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await server.harness.stopWorker();

      // Activities scheduled just before the stop age on the same queue and may fire first;
      // the new leads' workflow tasks are what this test waits for.
      const fired = await eventually(async () => (await amAlerts()).find((a) => ours(a) && a.labels.task_type === 'workflow'), {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: `${BACKLOG_ALERT} for ${queue} to reach Alertmanager`,
      }).catch(async (err: Error) => {
        const seen = await query(`{__name__=~"task_queue_.*", task_queue="${queue}"}`).catch((e: Error) => e.message);
        const rules = await fetch(`${promUrl}/api/v1/alerts`).then((r) => r.text(), (e: Error) => e.message);
        throw new Error(
          [
            `${err.message} (${accepted} leads accepted since the load began)`,
            `watchdog series in Prometheus: ${JSON.stringify(seen)}`,
            `Prometheus alerts: ${rules}`,
            `Alertmanager alerts: ${JSON.stringify(await amAlerts().catch((e: Error) => e.message))}`,
            `--- prometheus ---\n${prometheus?.log().slice(-2000)}`,
            `--- alertmanager ---\n${alertmanager?.log().slice(-2000)}`,
          ].join('\n'),
        );
      });
      console.log(`[alerts] ${BACKLOG_ALERT} reached Alertmanager ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the worker began to stop (${accepted} leads posted)`);
      expect(fired.labels).toMatchObject({ alertname: BACKLOG_ALERT, task_queue: queue, task_type: 'workflow', severity: 'warning' });
      expect(fired.status.state).toBe('active');
    } finally {
      posting = false;
      await load;
    }
  });
});
