import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * Where Prometheus's tools are: PROMETHEUS_BIN_DIR, else /usr/bin, where Debian's packages put
 * them (scripts/ensure-prometheus.mjs installs them; `npm test` runs it first). Debian names
 * Alertmanager `prometheus-alertmanager`.
 */
const NAMES = {
  promtool: ['promtool'],
  prometheus: ['prometheus'],
  alertmanager: ['prometheus-alertmanager', 'alertmanager'],
  amtool: ['amtool'],
} as const;

export type PrometheusTool = keyof typeof NAMES;

export function prometheusTool(tool: PrometheusTool): string {
  const dir = process.env.PROMETHEUS_BIN_DIR?.trim() || '/usr/bin';
  for (const name of NAMES[tool]) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next name
    }
  }
  throw new Error(`${tool} is not in ${dir}: run \`node scripts/ensure-prometheus.mjs\` (npm test runs it first)`);
}
