// Run ids and the ids of the lead changes a run makes. Pure code: the automation
// workflow and the lead workflow import it.
//
// A run id is its workflow id, `automation-<leadId>-<automationId>-<key>`, where key
// names the triggering change (the suffix of its task id) or the manual request. The
// lead id comes first so that `WorkflowId STARTS_WITH 'automation-<leadId>-'` lists a
// lead's runs without a custom search attribute, and a repeated trigger maps to the
// same id, which Temporal refuses to start twice.

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const RUN_KEY = /^[a-z2-7]{12}$/;
export const RUN_ID_PATTERN = /^automation-([a-z2-7]{20})-([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-([a-z2-7]{12})$/;

export function automationRunId(leadId: string, automationId: string, key: string): string {
  return `automation-${leadId}-${automationId}-${key}`;
}

export function parseRunId(runId: string): { leadId: string; automationId: string; key: string } | undefined {
  const match = RUN_ID_PATTERN.exec(runId);
  return match ? { leadId: match[1]!, automationId: match[2]!, key: match[3]! } : undefined;
}

export const leadRunsPrefix = (leadId: string) => `automation-${leadId}-`;

/** The run key of a lead-triggered run: the triggering change's task id suffix. */
export function runKeyOfTask(taskId: string): string {
  const suffix = taskId.slice(taskId.lastIndexOf('.') + 1);
  return RUN_KEY.test(suffix) ? suffix : stableKey(taskId);
}

/**
 * The task id of a lead change made by a run's step: deterministic, so a retried step is
 * applied once (the lead workflow ignores a task id it has seen), and shaped like every
 * task id (`<leadId>.<12 chars>`), so GET /api/tasks/:task_id shows it.
 */
export function stepTaskId(leadId: string, runId: string, stepKey: string): string {
  return `${leadId}.${stableKey(`${runId}:${stepKey}`)}`;
}

/** 12 base32 characters (60 bits) of FNV-1a 64 over the text. */
export function stableKey(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  let out = '';
  for (let i = 0; i < 12; i++) {
    out += ALPHABET[Number((hash >> BigInt(59 - 5 * i)) & 31n)];
  }
  return out;
}
