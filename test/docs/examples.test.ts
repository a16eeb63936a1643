/**
 * Documentation examples run as written: each block is written to a file and imported (the package
 * name resolves to the sources here), with only its model swapped for a mock where it names a paid
 * one, in a fresh working directory. Every TypeScript block also typechecks against the built
 * package (code-blocks.test.ts); the ones here are those that run offline.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/server/config.ts';
import { preflight } from '../../src/server/preflight.ts';
import { parseDeclarativeTools } from '../../src/tools/declarative/build.ts';
import { codeBlock, codeBlocks } from '../support/markdown.ts';

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

/** The `n`th TypeScript block under `heading`. */
function blockUnder(file: string, heading: string, n = 0): string {
  const found = codeBlocks(join(root, file)).filter((b) => b.heading === heading && b.lang === 'ts');
  if (!found[n]) throw new Error(`${file}: no ts block #${n} under "${heading}"`);
  return found[n].code;
}

/** OpenAI's provider → a mock model answering `answer` (the block is otherwise as written). */
function withMockOpenAI(code: string, answer: string): string {
  const line = "import { openai } from '@ai-sdk/openai';";
  expect(code).toContain(line);
  return code.replace(
    line,
    `import { mockLanguageModel } from 'colloquy/testing';\nconst openai = (_model: string) => mockLanguageModel([${JSON.stringify(answer)}]);`,
  );
}

/** Runs a block in a fresh working directory, returning what it printed. */
async function runPrinting(name: string, code: string): Promise<string> {
  const cwd = process.cwd();
  const fresh = await mkdtemp(join(tmpdir(), 'colloquy-docs-'));
  const printed: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args);
  process.chdir(fresh);
  try {
    await runBlock(name, code);
  } finally {
    console.log = log;
    process.chdir(cwd);
    await rm(fresh, { recursive: true, force: true });
  }
  return printed
    .map((args) => args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
    .join('\n');
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

  it('docs/server.md: programmatic use starts the server, prints its URL and closes it', async () => {
    const out = await runPrinting('server', blockUnder('docs/server.md', 'Programmatic use'));
    expect(out).toMatch(/^http:\/\/[\w.:[\]]+:\d+$/);
  });

  it('docs/storage.md: a recorded session is in the store with its transcript', async () => {
    const code = withMockOpenAI(
      blockUnder('docs/storage.md', 'Recording sessions in a library'),
      'Breakfast is served from seven to ten.',
    );
    const out = await runPrinting('storage', code);
    expect(out).toContain('What time is breakfast?');
    expect(out).toContain('Breakfast is served from seven to ten.');
  });

  it('docs/audio.md: a session with the embedded providers takes microphone audio and closes', async () => {
    const code = withMockOpenAI(blockUnder('docs/audio.md', 'Audio'), 'Hello.');
    await expect(runPrinting('audio', code)).resolves.toBe('');
  });

  it('docs/audio.md: the fake Deepgram server gives a DeepgramStt its URL and key', async () => {
    const out = await runPrinting('deepgram', blockUnder('docs/audio.md', 'Deepgram (`DeepgramStt`)', 1));
    expect(out).toBe('nova-3');
  });

  it('docs/realtime.md: the fake OpenAI Realtime server gives a model its URL and key', async () => {
    const out = await runPrinting('realtime', blockUnder('docs/realtime.md', 'Testing without a provider'));
    expect(out).toBe('gpt-realtime');
  });

  it('docs/tools.md: the tool definitions load and build', async () => {
    await expect(runPrinting('tools-code', blockUnder('docs/tools.md', 'Code tools'))).resolves.toBe('');
    await expect(
      runPrinting(
        'tools-context',
        blockUnder('docs/tools.md', 'The tool context: GUI events and client events from a tool'),
      ),
    ).resolves.toBe('');
  });

  it('the JSON agent configs load, and `colloquy start` accepts the README and realtime ones as written', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'colloquy-docs-json-'));
    try {
      const json = (file: string, heading: string, n = 0) => {
        const found = codeBlocks(join(root, file)).filter((b) => b.heading === heading && b.lang === 'json');
        if (!found[n]) throw new Error(`${file}: no json block #${n} under "${heading}"`);
        return found[n].code;
      };
      const configs: Array<[string, string, boolean]> = [
        ['readme', json('README.md', 'The same agent in JSON'), true],
        ['realtime', json('docs/realtime.md', 'With the server'), true],
        ['server', json('docs/server.md', 'Config file'), false],
        ['memory', json('docs/storage.md', 'Long-term memory'), false],
      ];
      for (const [name, text, startable] of configs) {
        const path = join(fresh, `${name}.json`);
        await writeFile(path, text);
        const env = { COLLOQUY_CONFIG: path, OPENAI_API_KEY: 'sk-test' };
        expect(() => loadServerConfig(env), name).not.toThrow();
        if (startable) expect((await preflight(env)).problems, name).toEqual([]);
      }
      const tool = JSON.parse(json('docs/tools.md', 'Declarative JSON tools')) as unknown;
      expect(parseDeclarativeTools([tool]).map((t) => t.name)).toEqual(['open_pricing_page']);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});
