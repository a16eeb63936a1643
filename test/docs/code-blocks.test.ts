/**
 * Every TypeScript example in README.md and docs/*.md is a whole program that typechecks against
 * the built package, as a user's project sees it: each block is written to its own module and
 * compiled with `tsc` in strict mode, `colloquy` resolving to dist/ through the package's exports
 * (no source paths), the AI SDK, zod and the client libraries to their published types. The
 * examples that run offline are also run (test/docs/examples.test.ts and test/docs/run-blocks.test.ts).
 */
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodeBlock, codeBlocks } from '../support/markdown.ts';
import { typecheckModules } from '../support/typecheck-modules.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, '.tmp', `docs-types-${process.pid}`);

/** The Markdown files users read. */
async function docFiles(): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/** The TypeScript blocks of the docs, each with a module name that says where it is. */
async function typescriptBlocks(): Promise<Array<CodeBlock & { file: string; name: string }>> {
  const out: Array<CodeBlock & { file: string; name: string }> = [];
  for (const file of await docFiles()) {
    for (const block of codeBlocks(join(root, file))) {
      if (block.lang !== 'ts' && block.lang !== 'typescript') continue;
      const name = `${file.replace(/[/.]/g, '_')}_L${block.line}`;
      out.push({ ...block, file, name });
    }
  }
  return out;
}

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('docs: every TypeScript example typechecks against the built package', () => {
  it('README.md and docs/*.md, each block a module of its own, strict', { timeout: 180_000 }, async () => {
    const blocks = await typescriptBlocks();
    expect(blocks.length).toBeGreaterThan(20);
    const errors = (await typecheckModules(dir, new Map(blocks.map((b) => [`${b.name}.ts`, b.code])))).map(
      ({ file, line, message }) => {
        // "README_md_L36.ts" line 4 → "README.md:39" (the line in the Markdown file).
        const block = blocks.find((b) => `${b.name}.ts` === file);
        return block ? `${block.file}:${block.line + line}: ${message}` : message;
      },
    );
    expect(errors).toEqual([]);
  });
});
