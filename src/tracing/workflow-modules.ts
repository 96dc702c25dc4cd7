import { createRequire } from 'node:module';

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
