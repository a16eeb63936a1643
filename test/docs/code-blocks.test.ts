/**
 * Every TypeScript example in README.md and docs/*.md is a whole program that typechecks against
 * the built package, as a user's project sees it: each block is written to its own module and
 * compiled with `tsc` in strict mode, `colloquy` resolving to dist/ through the package's exports
 * (no source paths), the AI SDK, zod and the client libraries to their published types. The
 * examples that run offline are also run (test/docs/examples.test.ts and test/docs/run-blocks.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodeBlock, codeBlocks } from '../support/markdown.ts';

const run = promisify(execFile);
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
    await mkdir(dir, { recursive: true });
    for (const block of blocks) await writeFile(join(dir, `${block.name}.ts`), block.code);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    // "README_md_L36.ts(4,10): error TS…" → "README.md:39: error TS…" (the line in the Markdown file).
    const errors = result
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        const m = /^(?:.*\/)?([\w]+)_L(\d+)\.ts\((\d+),\d+\): (.*)$/.exec(l);
        if (!m) return relative(root, l);
        const block = blocks.find((b) => b.name === `${m[1]}_L${m[2]}`);
        return block ? `${block.file}:${block.line + Number(m[3])}: ${m[4]}` : l;
      });
    expect(errors).toEqual([]);
  });
});
