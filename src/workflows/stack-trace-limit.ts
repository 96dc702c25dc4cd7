// Preloaded once into the worker's reusable V8 context, before the SDK freezes the context's
// globals (WORKFLOW_PRELOAD_MODULES, src/temporal/workflow-modules.ts); never imported by a
// workflow.
//
// The SDK records a stack trace for every promise a workflow creates (a promise hook that
// builds an Error and maps each frame through the bundle's source map), so that the
// `__stack_trace` query can show where a workflow waits. The cost is per frame.
Error.stackTraceLimit = 0;
export {};
