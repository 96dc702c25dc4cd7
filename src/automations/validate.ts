import { relative } from 'node:path';
import { AutomationLoadError, loadAutomations } from './loader.js';

/** What `npm run automations:validate` prints: a summary, or every problem (ok: false). */
export function validateAutomations(dir: string): { ok: boolean; lines: string[] } {
  try {
    const catalog = loadAutomations(dir);
    if (catalog.note) return { ok: true, lines: [catalog.note] };
    const automations = catalog.list();
    const templates = new Set(automations.flatMap((a) => Object.keys(a.templates)));
    return {
      ok: true,
      lines: [
        `${relative(process.cwd(), catalog.dir) || '.'}: ${automations.length} automation${automations.length === 1 ? '' : 's'} valid, using ${templates.size} template${templates.size === 1 ? '' : 's'}`,
        ...automations.map(
          (a) =>
            `  ${a.id}  ${a.definition.trigger.event}${a.definition.enabled ? '' : ' (disabled)'}  ${a.definition.steps.length} steps  sha256 ${a.hash.slice(0, 12)}  (${a.file})`,
        ),
      ],
    };
  } catch (err) {
    if (err instanceof AutomationLoadError) return { ok: false, lines: err.message.split('\n') };
    throw err;
  }
}

