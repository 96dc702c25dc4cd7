// The workflow bundle's entry: every workflow type the worker registers.
export { leadWorkflow } from './lead-workflow.js';
export { idempotencyRecord } from './idempotency-record.js';
export { automationRun } from './automation-run.js';
export { addressRecord } from './address-record.js';
export { leadErasure } from './lead-erasure.js';
