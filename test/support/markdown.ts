/** Fenced code blocks of a Markdown file, each with the heading it sits under (for docs tests). */
import { readFileSync } from 'node:fs';

export interface CodeBlock {
  lang: string;
  code: string;
  heading: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = h[1]!.trim();
      continue;
    }
    const open = /^```(\w*)\s*$/.exec(line);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ lang: open[1] ?? '', code: `${body.join('\n')}\n`, heading, line: start + 1 });
  }
  return blocks;
}

/** The one block under `heading` in `lang`; throws when there is not exactly one. */
export function codeBlock(file: string, heading: string, lang: string): CodeBlock {
  const found = codeBlocks(file).filter((b) => b.heading === heading && b.lang === lang);
  if (found.length !== 1)
    throw new Error(`${file}: expected one \`${lang}\` block under "${heading}", found ${found.length}`);
  return found[0]!;
}
