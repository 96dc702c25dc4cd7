import { createClient } from '../client/index.js';
import { parseCommandLine, unexpectedOptions } from './args.js';
import { automationCommands } from './commands/automations.js';
import { importCommand } from './commands/import.js';
import { keyCommands } from './commands/keys.js';
import { leadCommands } from './commands/leads.js';
import { redriveCommands } from './commands/redrive.js';
import { statusCommand } from './commands/status.js';
import { taskCommands } from './commands/tasks.js';
import { describeError, EXIT, exitCodeOf, UsageError } from './errors.js';
import { createOutput, type CliIo, type Command } from './io.js';
import { LEAD_FIELD_HELP } from './lead-fields.js';

export type { CliIo } from './io.js';

export const COMMANDS: Command[] = [...leadCommands, importCommand, ...taskCommands, ...automationCommands, ...redriveCommands, statusCommand, ...keyCommands];

const DEFAULT_URL = 'http://127.0.0.1:3000';

/** The whole CLI, without the process: argv in, output on io, the exit code out. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const { positionals, values } = parseCommandLine(argv);
    const [group, action] = positionals;
    if (values.help || group === undefined || group === 'help') {
      io[group === undefined && !values.help ? 'stderr' : 'stdout'].write(helpText(group === 'help' ? action : undefined));
      return group === undefined && !values.help ? EXIT.usage : EXIT.ok;
    }
    // A one-word command (`ao status`) takes every positional after it as arguments.
    const single = COMMANDS.find((c) => c.name === group);
    const command = single ?? COMMANDS.find((c) => c.name === `${group} ${action ?? ''}`);
    const args = positionals.slice(single ? 1 : 2);
    if (!command) {
      const problem = action === undefined ? `ao ${group} needs a command` : `unknown command: ${group} ${action}`;
      throw new UsageError(problem, groupUsage(group));
    }
    if (args.length !== command.args.length) {
      throw new UsageError(`${command.name} takes ${command.args.join(' ') || 'no arguments'}; got ${args.length ? args.join(' ') : 'none'}`, command.usage);
    }
    const stray = unexpectedOptions(values, command.options);
    if (stray.length) throw new UsageError(`${stray.map((o) => `--${o}`).join(', ')} does not apply to ao ${command.name}`, command.usage);
    const baseUrl = values.url ?? io.env.AO_URL ?? io.env.API_URL ?? DEFAULT_URL;
    const client = createClient({
      baseUrl,
      apiKey: values['api-key'] ?? io.env.AO_API_KEY,
      ...command.client,
      ...(io.transport ? { transport: io.transport } : {}),
    });
    return (await command.run({ client, baseUrl, args, values, out: createOutput(io, values.json === true), io })) ?? EXIT.ok;
  } catch (err) {
    io.stderr.write(`${describeError(err, json)}\n`);
    return exitCodeOf(err);
  }
}

function groupUsage(group: string): string | undefined {
  const usages = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.usage);
  return usages.length ? `\n  ${usages.join('\n  ')}` : undefined;
}

function helpText(group?: string): string {
  const commands = COMMANDS.filter((c) => !group || c.name === group || c.name.startsWith(`${group} `));
  return [
    'ao: the lead API from the command line',
    '',
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '',
    LEAD_FIELD_HELP,
    `Every command: --url URL (env AO_URL or API_URL, default ${DEFAULT_URL}), --api-key KEY (env AO_API_KEY), --json`,
    'Exit codes: 0 ok; 1 the API said no (4xx, rejected leads, a failed task); 2 usage; 3 API unavailable (5xx, 429, network) after retries',
    '',
  ].join('\n');
}
