import { posix } from 'node:path';

/**
 * An offline check of the links between the repository's Markdown files: every relative
 * link must name a file that exists, every `#anchor` a heading of the file it points into
 * (by GitHub's rules), and every http(s) link must at least parse. Nothing is fetched.
 */

/**
 * GitHub's anchor for a heading's text (as github-slugger makes it): lowercase, every
 * character that is not a letter, digit, mark, `-`, `_` or space dropped, each space a `-`.
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** A heading's text as GitHub renders it: code spans, links, emphasis and HTML tags give their text. */
function headingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/(\*\*|__|\*)(.+?)\1/g, '$2')
    .trim();
}

interface Line {
  text: string;
  /** 1-based line number in the file. */
  number: number;
}

/** The lines outside fenced code blocks, where headings and links live. */
function proseLines(markdown: string): Line[] {
  const out: Line[] = [];
  let fence: { char: string; length: number } | undefined;
  markdown.split('\n').forEach((text, i) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = { char: marker[0] ?? '`', length: marker.length };
      return;
    }
    if (fence !== undefined) {
      const closing = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text)?.[1];
      if (closing !== undefined && closing[0] === fence.char && closing.length >= fence.length) fence = undefined;
      return;
    }
    out.push({ text, number: i + 1 });
  });
  return out;
}

/** Every anchor a file offers: its headings' slugs (repeats get -1, -2, …) and explicit `<a name|id="…">`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = proseLines(markdown);
  const addHeading = (raw: string) => {
    const base = githubSlug(headingText(raw));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  };
  lines.forEach((line, i) => {
    const atx = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line.text);
    if (atx) addHeading(atx[1] ?? '');
    // A setext heading: a paragraph line underlined with === or ---.
    const next = lines[i + 1];
    if (!atx && next && next.number === line.number + 1 && /^ {0,3}(=+|-+)[ \t]*$/.test(next.text) && line.text.trim() !== '' && !/^\s*([-*+]|\d+\.)\s/.test(line.text)) {
      addHeading(line.text);
    }
    for (const m of line.text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1] ?? '');
  });
  return anchors;
}

export interface Link {
  target: string;
  line: number;
}

/** The link targets of a file: inline links and images, reference definitions, HTML href/src; not those in code. */
export function linksIn(markdown: string): Link[] {
  const out: Link[] = [];
  for (const { text, number } of proseLines(markdown)) {
    const prose = text.replace(/(`+)(?:(?!\1).)+\1/g, '');
    for (const m of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ target: (m[1] ?? '').replace(/^<|>$/g, ''), line: number });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(prose);
    if (definition) out.push({ target: definition[1] ?? '', line: number });
    for (const m of prose.matchAll(/\s(?:href|src)="([^"]+)"/g)) out.push({ target: m[1] ?? '', line: number });
  }
  return out;
}

export interface Repo {
  /** Repository-relative paths of every file (posix separators). */
  files: ReadonlySet<string>;
  read(path: string): string;
}

/** What is wrong with each link of `file`, as `file:line: target: problem`. */
export function brokenLinks(file: string, repo: Repo, anchorCache = new Map<string, Set<string>>()): string[] {
  const anchorsIn = (path: string) => {
    let anchors = anchorCache.get(path);
    if (!anchors) anchorCache.set(path, (anchors = anchorsOf(repo.read(path))));
    return anchors;
  };
  const isDir = (path: string) => [...repo.files].some((f) => f.startsWith(`${path}/`));
  const problems: string[] = [];
  for (const { target, line } of linksIn(repo.read(file))) {
    const problem = linkProblem(file, target, repo, anchorsIn, isDir);
    if (problem) problems.push(`${file}:${line}: ${target}: ${problem}`);
  }
  return problems;
}

function linkProblem(file: string, target: string, repo: Repo, anchorsIn: (path: string) => Set<string>, isDir: (path: string) => boolean): string | undefined {
  if (/^https?:/i.test(target)) {
    try {
      const url = new URL(target);
      return url.hostname === '' ? 'no host' : undefined;
    } catch {
      return 'not a valid URL';
    }
  }
  if (/^(mailto|tel):/i.test(target)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'a scheme GitHub does not link';
  const hashAt = target.indexOf('#');
  const pathPart = decodeURIComponent(hashAt === -1 ? target : target.slice(0, hashAt));
  const anchor = hashAt === -1 ? undefined : decodeURIComponent(target.slice(hashAt + 1));
  const resolved = pathPart === '' ? file : pathPart.startsWith('/') ? pathPart.slice(1) : posix.normalize(posix.join(posix.dirname(file), pathPart));
  const path = resolved.replace(/\/$/, '');
  if (path.startsWith('..')) return 'points outside the repository';
  if (!repo.files.has(path)) return isDir(path) ? (anchor ? 'an anchor into a folder' : undefined) : 'no such file in the repository';
  if (anchor === undefined || anchor === '' || !path.endsWith('.md')) return undefined;
  return anchorsIn(path).has(anchor) ? undefined : `no heading with the anchor #${anchor} in ${path}`;
}
