import { NESTED_STEP_KEYS, type AutomationDefinition, type Step } from './schema.js';

// A definition as the API shows it: a webhook step's header values may be credentials (or,
// in files written before `${NAME}` references, hold them), and any key can read
// /api/automations, so only the header names leave the process.

type ShownStep = Step extends infer S ? (S extends { type: 'webhook' } ? Omit<S, 'headers'> & { headers?: string[] } : S) : never;

export function shownDefinition(definition: AutomationDefinition): Omit<AutomationDefinition, 'steps'> & { steps: ShownStep[] } {
  return { ...definition, steps: definition.steps.map(shownStep) };
}

function shownStep(step: Step): ShownStep {
  const out: Record<string, unknown> = { ...step };
  if (step.type === 'webhook' && step.headers) out.headers = Object.keys(step.headers);
  for (const key of NESTED_STEP_KEYS[step.type] ?? []) out[key] = ((step as unknown as Record<string, Step[]>)[key] ?? []).map(shownStep);
  return out as ShownStep;
}
