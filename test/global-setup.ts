/**
 * Vitest global setup: runs one Temporal dev server (in-memory, headless,
 * random port, namespace 'default') for the whole test run.
 *
 * Tests read the address with `inject('temporalAddress')`; child processes
 * spawned by tests see it as $TEMPORAL_ADDRESS.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { resolveTemporalBinary } from '../tooling/temporal/binary.js';
import { startDevServer } from '../tooling/temporal/dev-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The dev server's own Prometheus endpoint. */
    temporalMetricsUrl: string;
  }
}

function ensureBinary(): string {
  try {
    return resolveTemporalBinary();
  } catch {
    const script = fileURLToPath(new URL('../scripts/ensure-temporal.mjs', import.meta.url));
    execFileSync(process.execPath, [script], { stdio: 'inherit' });
    return resolveTemporalBinary();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binary = ensureBinary();
  const startedAt = Date.now();
  const server = await startDevServer({ binary, headless: true, namespace: 'default' });
  console.log(`[global-setup] Temporal dev server at ${server.address} (ready in ${Date.now() - startedAt} ms)`);

  project.provide('temporalAddress', server.address);
  project.provide('temporalMetricsUrl', server.metricsUrl);
  process.env.TEMPORAL_ADDRESS = server.address;

  return async () => {
    await server.stop();
  };
}
