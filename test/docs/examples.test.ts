/**
 * Documentation examples run as written: each block is written to a file and imported (the package
 * name resolves to the sources here), with only its model swapped for a mock where it names a paid one.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlock } from '../support/markdown.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, '.tmp', `docs-${process.pid}`);

async function runBlock(name: string, code: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  await writeFile(file, code);
  await import(file);
}

/** Runs a block and returns what it printed with console.log, one string per call. */
async function logsOf(name: string, code: string): Promise<string[]> {
  const logged: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => logged.push(args.join(' '));
  try {
    await runBlock(name, code);
  } finally {
    console.log = log;
  }
  return logged;
}

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('docs examples', () => {
  it('docs/testing.md: the agent test passes, and its tool call succeeds', async () => {
    const block = codeBlock(join(root, 'docs/testing.md'), 'Testing your agents', 'ts');
    await expect(runBlock('testing', block.code)).resolves.toBeUndefined();
  });

  it('docs/errors.md: checking for a Colloquy error', async () => {
    const block = codeBlock(join(root, 'docs/errors.md'), 'Checking for a Colloquy error', 'ts');
    expect(await logsOf('errors', block.code)).toEqual(['true', 'false', 'not a Colloquy error']);
  });

  it('docs/providers.md: a provider declaring its specification version runs in a session', async () => {
    const block = codeBlock(join(root, 'docs/providers.md'), 'Specification versions', 'ts');
    expect(await logsOf('providers', block.code)).toEqual(['Hello there.']);
  });

  it("README: the minimal agent runs with a mock model in place of OpenAI's", async () => {
    const block = codeBlock(join(root, 'README.md'), 'A minimal agent in TypeScript', 'ts');
    const code = block.code
      .replace(
        "import { openai } from '@ai-sdk/openai';",
        "import { mockLanguageModel } from 'colloquy/testing';",
      )
      .replace(
        "model: openai('gpt-4.1-mini')",
        "model: mockLanguageModel([[{ toolCall: { name: 'weather', args: { city: 'Paris' } } }], 'It is 21 degrees.'])",
      );
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      await runBlock('readme', code);
    } finally {
      process.stdout.write = write;
    }
    expect(written.join('')).toContain('It is 21 degrees.');
  });
});
