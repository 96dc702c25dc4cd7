import { validateAutomations } from './validate.js';

// `npm run automations:validate [folder]`: validates the automation folder (default
// AUTOMATIONS_DIR, else `automations`) exactly as the API and the worker do at start-up,
// without starting anything. Exit code 0 when valid, 1 with every problem listed.
const dir = process.argv[2] ?? process.env.AUTOMATIONS_DIR ?? 'automations';
const { ok, lines } = validateAutomations(dir);
(ok ? console.log : console.error)(lines.join('\n'));
process.exitCode = ok ? 0 : 1;
