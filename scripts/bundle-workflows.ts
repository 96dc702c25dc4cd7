import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_PRELOAD_MODULES } from '../src/temporal/workflow-modules.js';

// Bundles the workflow code once at build time, so workers start in a second instead of
// running webpack at every start, and every worker runs byte-identical workflow code.
// The OpenTelemetry workflow interceptors are always in it (src/temporal/workflow-modules.ts).
const workflowsPath = fileURLToPath(new URL('../src/workflows/index.js', import.meta.url));
const target = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
const started = Date.now();
const { code } = await bundleWorkflowCode({
  workflowsPath,
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
  preloadModules: WORKFLOW_PRELOAD_MODULES,
  logger: new DefaultLogger('WARN'),
});
await writeFile(target, code);
console.log(`workflows bundled into ${target} (${(code.length / 1024).toFixed(0)} KiB, ${Date.now() - started} ms)`);
