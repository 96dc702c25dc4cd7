import type { Client, ClientOptions, Transport } from '../client/index.js';
import type { CliValues } from './args.js';

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(text: string): unknown; isTTY?: boolean | undefined };
  env: Record<string, string | undefined>;
  /** Under the client instead of fetch (tests). */
  transport?: Transport;
}

/** --json: results as JSON on stdout; otherwise lines for people. Notes always go to stderr. */
export interface Output {
  json: boolean;
  result(value: unknown, human: () => string): void;
  line(text: string): void;
  note(text: string): void;
}

export function createOutput(io: CliIo, json: boolean): Output {
  return {
    json,
    result: (value, human) => io.stdout.write(`${json ? JSON.stringify(value) : human()}\n`),
    line: (text) => io.stdout.write(`${text}\n`),
    note: (text) => io.stderr.write(`${text}\n`),
  };
}

export interface CommandContext {
  client: Client;
  /** The API the client calls. */
  baseUrl: string;
  /** The command's positional arguments. */
  args: string[];
  values: CliValues;
  out: Output;
  io: CliIo;
}

export interface Command {
  /** `leads create`: group and action; or one word (`status`). */
  name: string;
  usage: string;
  summary: string;
  /** Positional arguments, by name (their count is checked). */
  args: string[];
  /** Options beyond the global ones (--url, --api-key, --json). */
  options: string[];
  /** How its client calls the API, when not the default (4 attempts within 30 s, 30 s each). */
  client?: Pick<ClientOptions, 'retry' | 'timeoutMs'>;
  /** The exit code; undefined means 0. */
  run(ctx: CommandContext): Promise<number | void>;
}

export const pretty = (value: unknown) => JSON.stringify(value, null, 2);
