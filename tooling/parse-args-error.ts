// node:util parseArgs explains a bad command line in its own words ("Unknown option '--x'",
// "Option '--x <value>' argument missing", and advice about `--` that does not apply to
// these commands). The benchmark's and the chaos suite's usage errors say it in theirs.

/** The message for an error thrown by parseArgs (any other error's message as is). */
export function parseArgsMessage(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /argument missing/.test(message)) return `${option} needs a value`;
  return message.replace(/\s*To specify a positional argument.*$/s, '');
}
