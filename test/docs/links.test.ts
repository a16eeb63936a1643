/**
 * The user documentation (README.md, docs/*.md — what the package ships) speaks to users: no
 * internal jargon, and every link goes to a public site or to a file or heading that the package
 * itself contains.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const shipped = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;

/** GitHub-style anchor of a heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

const anchorsOf = (file: string) =>
  new Set(
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) => anchor(l.replace(/^#+ /, ''))),
  );

/** Markdown links outside code blocks. */
function linksOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('user docs', () => {
  it('use no internal jargon', () => {
    const jargon = /\bseed \d{3}\b|\bhouse rules?\b|\bissue #?\d+\b|for the engineer|\/work\//i;
    const found = files.flatMap((file) =>
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .map((line, i) => [`${file}:${i + 1}`, line] as const)
        .filter(([, line]) => jargon.test(line))
        .map(([where, line]) => `${where}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });

  it('link only to public sites and to files and headings the package ships', () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const link of linksOf(file)) {
        if (/^https:\/\//.test(link)) {
          if (/localhost|127\.0\.0\.1|\/work\/|internal/.test(link)) bad.push(`${file}: ${link}`);
          continue;
        }
        const [path, hash] = link.split('#') as [string, string | undefined];
        const target = path ? relative(root, resolve(dirname(join(root, file)), path)) : file;
        const covers = (entry: string) => target === entry || target.startsWith(`${entry}/`);
        const inPackage =
          shipped.some((e) => !e.startsWith('!') && covers(e)) &&
          !shipped.some((e) => e.startsWith('!') && covers(e.slice(1)));
        if (!existsSync(join(root, target)) || !inPackage)
          bad.push(`${file}: ${link} (not a file the package ships)`);
        else if (hash && target.endsWith('.md') && !anchorsOf(target).has(hash))
          bad.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(bad).toEqual([]);
  });
});
