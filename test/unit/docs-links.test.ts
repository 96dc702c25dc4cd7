import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anchorsOf, brokenLinks, githubSlug, linksIn } from '../../tooling/docs/markdown-links.js';

describe('githubSlug', () => {
  it('lowercases, drops punctuation but - and _, and turns each space into -', () => {
    expect(githubSlug('Backlog and rates: GET /api/stats and npm run status')).toBe('backlog-and-rates-get-apistats-and-npm-run-status');
    expect(githubSlug('Fast path, the last step tried and where issue #9 ends (2026-12-05/06)')).toBe(
      'fast-path-the-last-step-tried-and-where-issue-9-ends-2026-12-0506',
    );
    expect(githubSlug('Why a limiter — in the worker')).toBe('why-a-limiter--in-the-worker');
    expect(githubSlug('snake_case and Ünïcode')).toBe('snake_case-and-ünïcode');
  });
});

describe('anchorsOf', () => {
  it('numbers repeated headings, reads setext headings and named anchors, and skips fenced code', () => {
    const md = ['# Title', '## Versioning (v1)', '## Versioning (v1)', '```sh', '# not a heading', '```', 'Setext', '---', '<a id="custom"></a>', '### `GET /api/leads`'].join('\n');
    expect([...anchorsOf(md)]).toEqual(['title', 'versioning-v1', 'versioning-v1-1', 'setext', 'custom', 'get-apileads']);
  });
});

describe('linksIn', () => {
  it('finds inline links, reference definitions and HTML links, not those in code', () => {
    const md = ['See [a](docs/a.md#x "title") and ![img](b.png).', '`[not](c.md)`', '```', '[not](d.md)', '```', '[ref]: e.md', '<img src="f.png">'].join('\n');
    expect(linksIn(md).map((l) => l.target)).toEqual(['docs/a.md#x', 'b.png', 'e.md', 'f.png']);
  });
});

describe('brokenLinks', () => {
  const files: Record<string, string> = {
    'README.md': '# Top\n[ok](docs/x.md#part) [self](#top) [dir](docs/) [gone](docs/y.md) [bad](docs/x.md#nope) [web](https://example.com/a) [junk](http://)',
    'docs/x.md': '## Part\n[up](../README.md#top)',
  };
  const repo = { files: new Set(Object.keys(files)), read: (p: string) => files[p] ?? '' };

  it('reports missing files, missing anchors and malformed URLs, and accepts the rest', () => {
    expect(brokenLinks('README.md', repo)).toEqual([
      'README.md:2: docs/y.md: no such file in the repository',
      'README.md:2: docs/x.md#nope: no heading with the anchor #nope in docs/x.md',
      'README.md:2: http://: not a valid URL',
    ]);
    expect(brokenLinks('docs/x.md', repo)).toEqual([]);
  });
});

describe('the repository’s Markdown', () => {
  // Tracked and new (not ignored) files: node_modules, .data and dist are ignored, so never listed.
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !/^(node_modules|\.data|dist)\//.test(f));
  const markdown = files.filter((f) => f.endsWith('.md'));

  it('has only links that resolve: files that exist, anchors that match a heading', () => {
    expect(markdown).toContain('README.md');
    expect(markdown).toContain('bench/README.md');
    const repo = { files: new Set(files), read: (p: string) => readFileSync(p, 'utf8') };
    const cache = new Map<string, Set<string>>();
    const problems = markdown.flatMap((file) => brokenLinks(file, repo, cache));
    expect(problems).toEqual([]);
  });
});
