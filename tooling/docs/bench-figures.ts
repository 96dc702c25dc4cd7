import { posix } from 'node:path';
import { linksIn } from './markdown-links.js';

/**
 * The rule that keeps bench/README.md's figures traceable: every `## ` section (with its
 * subsections) that holds a table of figures links to the report they come from, a
 * bench/results/*.md that exists. A section whose figures have no report file says why in
 * an `<!-- figures without a report: … -->` comment, so the exception is written down.
 */

export interface FiguresSection {
  title: string;
  /** Whether a table in it has a body cell that starts with a number: measured figures. */
  hasFigures: boolean;
  /** Reports it links to, as repository paths. */
  reports: string[];
  /** The reason given for figures without a report, if any. */
  noReportReason: string | undefined;
}

const NUMBER_CELL = /^\s*(\*\*)?[-+~≈]?\d/;

export function figuresSections(markdown: string, file = 'bench/README.md'): FiguresSection[] {
  const sections: Array<{ title: string; lines: string[] }> = [];
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^ {0,3}(```|~~~)/.test(line)) inFence = !inFence;
    const h2 = inFence ? null : /^## +(.*)$/.exec(line);
    if (h2) sections.push({ title: h2[1]?.trim() ?? '', lines: [] });
    else sections.at(-1)?.lines.push(line);
  }
  return sections.map(({ title, lines }) => {
    const tableRows = lines.filter((l) => /^\s*\|.*\|\s*$/.test(l) && !/^\s*\|[\s:|-]+\|\s*$/.test(l));
    // A row's cells after the first (the row's label); a header row holds no numbers in practice.
    const hasFigures = tableRows.some((row) => row.split('|').slice(2, -1).some((c) => NUMBER_CELL.test(c)));
    const text = lines.join('\n');
    const reports = linksIn(text)
      .map((l) => l.target.split('#')[0] ?? '')
      .filter((t) => !/^[a-z]+:/i.test(t))
      .map((t) => posix.normalize(posix.join(posix.dirname(file), t)))
      .filter((p) => /^bench\/results\/[^/]+\.md$/.test(p));
    const noReportReason = /<!--\s*figures without a report:\s*(.*?)\s*-->/s.exec(text)?.[1];
    return { title, hasFigures, reports, noReportReason: noReportReason || undefined };
  });
}
