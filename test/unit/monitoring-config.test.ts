import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPORAL_METRICS_PORT } from '../../tooling/cluster/topology.js';

// The monitoring profile's files agree with each other and with docker-compose.yml: Prometheus
// scrapes every Temporal node and the workers' port, Grafana's datasource is the one the
// dashboard names, and the dashboard's job selectors are Prometheus jobs. Which metric names
// the dashboard may query is the integration test's (test/integration/dashboard-metrics.test.ts).

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
interface ComposeService {
  image?: string;
  profiles?: string[];
  environment?: Record<string, unknown>;
  volumes?: string[];
  healthcheck?: { test?: unknown };
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[];
  rule_files?: string[];
  alerting?: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
};
const dashboard = read('deploy/grafana/dashboards/automation-orchestrator.json');
const job = (name: string) => prometheus.scrape_configs.find((c) => c.job_name === name);

describe('monitoring profile', () => {
  it('runs pinned Prometheus, Alertmanager and Grafana with the committed files, each with a health check', () => {
    for (const name of ['prometheus', 'alertmanager', 'grafana']) {
      const s = compose.services[name];
      expect(s?.profiles, name).toEqual(['monitoring']);
      expect(s?.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
      expect(s?.healthcheck?.test, name).toBeDefined();
    }
    expect(compose.services.prometheus?.volumes).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose.services.grafana?.volumes).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro');
    expect(compose.services.alertmanager?.volumes).toContain('./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro');
  });

  it('mounts only files and folders that exist', () => {
    const sources = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((source) => source.startsWith('./'));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(new URL(`../../${source}`, import.meta.url)), source).toBe(true);
  });

  it('loads the alert rules next to prometheus.yml in the container and sends alerts to the alertmanager service', () => {
    for (const file of prometheus.rule_files ?? []) {
      expect(compose.services.prometheus?.volumes).toContain(`./deploy/prometheus/${file}:/etc/prometheus/${file}:ro`);
    }
    expect(prometheus.rule_files).toEqual(['alerts.yml']);
    expect(prometheus.alerting?.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['alertmanager:9093']);
  });

  it('scrapes every Temporal node of the compose file on its metrics port', () => {
    const nodes = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('temporalio/server:'));
    expect(nodes.length).toBe(4);
    const targets = job('temporal')?.static_configs?.flatMap((c) => c.targets) ?? [];
    expect(targets.sort()).toEqual(nodes.map(([name]) => `${name}:${TEMPORAL_METRICS_PORT}`).sort());
  });

  it('scrapes the API\'s ops listener and every worker replica where they listen', () => {
    const api = compose.services.api?.environment ?? {};
    expect(api.OPS_HOST).toBe('0.0.0.0');
    expect(job('api')?.static_configs?.[0]?.targets).toEqual([`api:${String(api.OPS_PORT)}`]);
    const worker = compose.services.worker?.environment ?? {};
    expect(worker.WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(job('worker')?.dns_sd_configs?.[0]).toMatchObject({ names: ['worker'], port: Number(worker.WORKER_METRICS_PORT) });
  });

  it('gives Grafana the datasource the dashboard names, and the dashboard only Prometheus jobs', () => {
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
    expect(datasources.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
    const uids = new Set([...dashboard.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]));
    expect(uids).toEqual(new Set(['prometheus', 'automation-orchestrator']));
    const jobs = new Set([...dashboard.matchAll(/job=\\"(\w+)\\"/g)].map((m) => m[1]));
    expect(jobs.size).toBeGreaterThan(0);
    for (const name of jobs) expect(job(name!), `dashboard job ${name}`).toBeDefined();
  });
});
