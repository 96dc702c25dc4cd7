/**
 * V8 heap settings for the API and worker processes. Whatever starts them (`npm start`, the
 * bench, the local cluster, compose) passes these as NODE_OPTIONS, ahead of any NODE_OPTIONS
 * of its own environment, so an operator's flag still wins (V8 takes the last of a repeated
 * flag).
 *
 * Why: on a 64-bit machine Node gives every isolate a 96 MB young generation (three 32 MB
 * semi-spaces) and lets the old generation grow to a quarter of the machine's memory before
 * it collects hard. The API keeps ~40 MB alive and the worker ~40 MB on its main thread plus
 * ~65 MB in its workflow thread (100 cached workflows), yet both sat at 250–780 MB of RSS,
 * mostly garbage not yet collected (issue #24; figures in bench/README.md). An 8 MB
 * semi-space and an old generation capped at a few times the live set keep them inside
 * their budgets (API 150 MB, worker 400 MB). The caps apply to each isolate: the worker's
 * workflow thread gets the same limit as its main thread.
 *
 * The cost is more frequent collection; the A/B in bench/README.md measures it. A worker
 * whose cache is raised far above the default (WORKER_MAX_CACHED_WORKFLOWS) needs a larger
 * old generation: see `workerHeapAdvice`.
 */
export const HEAP_NODE_OPTIONS = {
  api: '--max-semi-space-size=8 --max-old-space-size=128',
  worker: '--max-semi-space-size=8 --max-old-space-size=192',
} as const satisfies Record<string, string>;

export type HeapRole = keyof typeof HEAP_NODE_OPTIONS;

/** The environment a process of `role` starts with: the heap settings, then the caller's own NODE_OPTIONS. */
export function withHeapOptions(role: HeapRole, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = env.NODE_OPTIONS?.trim();
  return { ...env, NODE_OPTIONS: own ? `${HEAP_NODE_OPTIONS[role]} ${own}` : HEAP_NODE_OPTIONS[role] };
}

/**
 * Measured on the workflow thread (the inspector's heap usage after a forced collection,
 * under the old design's load): 39 MB live with a handful of workflows cached, 63 MB with
 * 100, so about 35 MB of base (the bundle) and 0.25 MB per cached lead workflow, rounded up
 * here. Twice that, for the garbage between collections.
 */
const WORKFLOW_BASE_MB = 35;
const CACHED_WORKFLOW_MB = 0.3;

/**
 * A warning when the worker's heap limit (each isolate's, in MB) leaves the workflow thread
 * less than twice what `maxCachedWorkflows` is expected to keep alive; undefined when it fits.
 */
export function workerHeapAdvice(heapLimitMb: number, maxCachedWorkflows: number): string | undefined {
  const neededMb = Math.ceil(2 * (WORKFLOW_BASE_MB + CACHED_WORKFLOW_MB * maxCachedWorkflows));
  if (heapLimitMb >= neededMb) return undefined;
  return (
    `WORKER_MAX_CACHED_WORKFLOWS=${maxCachedWorkflows} may need about ${neededMb} MB of heap per isolate, ` +
    `the limit is ${Math.round(heapLimitMb)} MB: raise it with NODE_OPTIONS=--max-old-space-size=${neededMb}`
  );
}
