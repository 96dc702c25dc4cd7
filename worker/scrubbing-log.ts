import { formatWithOptions } from 'node:util';
import type { LogEntry } from '@temporalio/worker';
import { scrubText } from '../src/api/log-redaction.js';

// The worker's log lines, told by the SDK's DefaultLogger (activity and workflow logs, the
// SDK core's forwarded lines), pass through the API's scrubber before they are written: an
// activity failure carries its error, and an SMTP rejection quotes the recipient
// ("550 5.1.1 <ada@engines.example>: Recipient address rejected"). The line is formatted as
// the SDK's default does, without colours (their escape codes would split what the scrubber
// looks for), and scrubbed whole, so addresses inside an error's message or stack go too.

const format = formatWithOptions.bind(undefined, { colors: false, depth: 6 });

/** A DefaultLogger log function: `<ISO time> [LEVEL] message {meta}`, scrubbed, to `write` (stderr). */
export function scrubbingLogFunction(write: (line: string) => void = (line) => process.stderr.write(line)): (entry: LogEntry) => void {
  return ({ level, timestampNanos, message, meta }) => {
    const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    const line = meta === undefined ? `${time} [${level}] ${message}` : `${time} [${level}] ${message} ${format(meta)}`;
    write(`${scrubText(line)}\n`);
  };
}
