import { ENV_REFERENCE, NESTED_STEP_KEYS, type Step } from './schema.js';
import type { LoadedAutomation } from './loader.js';

// The environment variables the webhook steps of a catalog read when they run (`secret_env`,
// `${NAME}` in header values), so the worker can say at start-up which ones it lacks instead
// of the first run that needs one failing hours later.

/** Each variable named, with the automations that name it. */
export function webhookEnvNames(automations: LoadedAutomation[]): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const note = (name: string, id: string) => {
    const ids = names.get(name) ?? [];
    if (!ids.includes(id)) ids.push(id);
    names.set(name, ids);
  };
  const walk = (steps: Step[], id: string) => {
    for (const step of steps) {
      if (step.type === 'webhook') {
        if (step.secret_env) note(step.secret_env, id);
        for (const value of Object.values(step.headers ?? {})) for (const [, name] of value.matchAll(ENV_REFERENCE)) note(name!, id);
      }
      for (const key of NESTED_STEP_KEYS[step.type] ?? []) walk((step as unknown as Record<string, Step[]>)[key] ?? [], id);
    }
  };
  for (const automation of automations) walk(automation.definition.steps, automation.id);
  return names;
}
