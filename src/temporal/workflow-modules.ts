import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * Workflow interceptor modules, always bundled with the workflows (scripts/bundle-workflows.ts,
 * the worker when it bundles at start, the replay test): Temporal's OpenTelemetry workflow
 * interceptors. Always, not only when tracing is on, because whether a workflow's code runs
 * through them must not depend on how the worker that replays it is configured: a long-lived
 * lead workflow started untraced would otherwise replay under different code after tracing
 * is turned on. A worker that does not trace gives their spans a sink that drops them.
 * Only the path is resolved here; nothing is loaded into this process.
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * The file of a module in src/workflows: the compiled `.js` under dist, the TypeScript source
 * when running from the sources (tests), for webpack to bundle.
 */
export function workflowSource(name: string): string {
  const js = fileURLToPath(new URL(`../workflows/${name}.js`, import.meta.url));
  const ts = js.replace(/\.js$/, '.ts');
  return existsSync(js) ? js : ts;
}

/** Modules run once when a worker's reusable V8 context is set up (see stack-trace-limit.ts). */
export const WORKFLOW_PRELOAD_MODULES: string[] = [workflowSource('stack-trace-limit')];
