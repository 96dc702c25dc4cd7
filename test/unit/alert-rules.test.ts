import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusTool, type PrometheusTool } from '../support/prometheus-tools.js';

// The alert rules as Prometheus and Alertmanager read them: promtool checks the config and the
// rules and runs their unit tests (deploy/prometheus/alerts.test.yml), amtool checks
// Alertmanager's config; each rule has a test that fires it and one that keeps it quiet, a
// runbook section in docs/alerts.md, and the inhibitions name only rules that exist.

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const read = (p: string) => readFileSync(path(p), 'utf8');

function run(tool: PrometheusTool, args: string[]) {
  const r = spawnSync(prometheusTool(tool), args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, output: `${tool} ${args.join(' ')} (exit ${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}` };
}

interface Rule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface AlertTest {
  alertname: string;
  exp_alerts?: unknown[];
}
const rules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const tests = (parse(read('deploy/prometheus/alerts.test.yml')) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []);

describe('alert rules', () => {
  it('pass promtool check config (with the rules it loads) and check rules', () => {
    for (const args of [
      ['check', 'config', path('deploy/prometheus/prometheus.yml')],
      ['check', 'rules', path('deploy/prometheus/alerts.yml')],
    ]) {
      const r = run('promtool', args);
      expect(r.ok, r.output).toBe(true);
    }
  });

  it('pass their promtool unit tests', () => {
    const r = run('promtool', ['test', 'rules', path('deploy/prometheus/alerts.test.yml')]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/SUCCESS/);
  });

  it('each have a case that fires and one that stays quiet, and a runbook section', () => {
    const docs = read('docs/alerts.md');
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const { alert, annotations } of rules) {
      const cases = tests.filter((t) => t.alertname === alert);
      expect(cases.some((t) => (t.exp_alerts ?? []).length > 0), `${alert}: a case that fires`).toBe(true);
      expect(cases.some((t) => (t.exp_alerts ?? []).length === 0), `${alert}: a case that stays quiet`).toBe(true);
      expect(annotations?.runbook, alert).toBe(`docs/alerts.md#${alert.toLowerCase()}`);
      expect(docs, `docs/alerts.md section for ${alert}`).toMatch(new RegExp(`^## ${alert}$`, 'm'));
    }
    // And no test names a rule that does not exist.
    expect(tests.map((t) => t.alertname).filter((name) => !rules.some((r) => r.alert === name))).toEqual([]);
  });
});

describe('Alertmanager config', () => {
  it('passes amtool check-config', () => {
    const r = run('amtool', ['check-config', path('deploy/alertmanager/alertmanager.yml')]);
    expect(r.ok, r.output).toBe(true);
  });

  it('inhibits only with and of alerts that exist', () => {
    const config = parse(read('deploy/alertmanager/alertmanager.yml')) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[] }[] };
    const names = new Set(rules.map((r) => r.alert));
    const named = config.inhibit_rules
      .flatMap((r) => [...r.source_matchers, ...r.target_matchers])
      .flatMap((m) => /^alertname\s*=~?\s*"?([^"]+)"?$/.exec(m)?.[1]?.split('|') ?? []);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !names.has(n))).toEqual([]);
  });
});
