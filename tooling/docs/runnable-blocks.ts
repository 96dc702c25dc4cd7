/**
 * Command blocks of the README that a test runs against a real stack. A block is marked by
 * an HTML comment on the line before its fence (blank lines between are allowed):
 *
 *   <!-- runnable -->                              run it; bash must exit 0
 *   <!-- runnable expect="\"status\":\"queued\"" -->   and its output must contain this text
 *
 * `expect="…"` (or `expect='…'`) may repeat. Only ```sh and ```bash blocks can be marked.
 * Blocks are written for `npm start`'s defaults (localhost:3000 and the simulators' ports);
 * the test rewrites those ports to its own stack's (rewritePorts).
 */

export interface RunnableBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  expect: string[];
}

const MARKER = /^<!--\s*runnable\b(.*?)-->\s*$/;

export function runnableBlocks(markdown: string): RunnableBlock[] {
  const lines = markdown.split('\n');
  const out: RunnableBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i] ?? '');
    if (!marker) continue;
    let at = i + 1;
    while (at < lines.length && (lines[at] ?? '').trim() === '') at++;
    const fence = /^(`{3,})(sh|bash)\s*$/.exec(lines[at] ?? '');
    if (!fence) throw new Error(`line ${i + 1}: a runnable marker must come right before a \`\`\`sh or \`\`\`bash block`);
    const close = lines.findIndex((l, j) => j > at && l.startsWith(fence[1] ?? '```') && l.trim() === fence[1]);
    if (close === -1) throw new Error(`line ${at + 1}: the runnable block is never closed`);
    const expect = [...(marker[1] ?? '').matchAll(/expect=(?:"((?:\\.|[^"\\])*)"|'([^']*)')/g)].map((m) =>
      m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''),
    );
    out.push({ line: at + 1, code: lines.slice(at + 1, close).join('\n'), expect });
    i = close;
  }
  return out;
}

/**
 * The block with each default port (`localhost:3000`, `127.0.0.1:3000`) replaced by the
 * test stack's: `ports` maps npm start's default port to the one to use.
 */
export function rewritePorts(code: string, ports: ReadonlyMap<number, number>): string {
  return code.replace(/\b(localhost|127\.0\.0\.1):(\d+)\b/g, (whole, host: string, port: string) => {
    const to = ports.get(Number(port));
    return to === undefined ? whole : `${host}:${to}`;
  });
}
