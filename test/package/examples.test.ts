/**
 * Editor hovers teach the API: every class, function and constant exported by `colloquy`,
 * `colloquy/server`, `colloquy/livekit` and `colloquy/testing` (a class exported as a type too: its
 * hover is the class's) carries an `@example` in the built .d.ts a user's editor reads, and every
 * example is a whole program that typechecks against the built package (each one a module of its
 * own, strict, `colloquy` resolving to dist/ through the package's exports), as the docs' code
 * blocks do (test/docs/code-blocks.test.ts).
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { typecheckModules } from '../support/typecheck-modules.ts';

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'dist');
const dir = join(root, '.tmp', `api-examples-${process.pid}`);

/** The entry points whose hovers are documented, by the specifier a user imports. */
const ENTRIES: Record<string, string> = {
  colloquy: 'dist/index.d.ts',
  'colloquy/server': 'dist/server/index.d.ts',
  'colloquy/livekit': 'dist/server/livekit.d.ts',
  'colloquy/testing': 'dist/testing/index.d.ts',
};

/**
 * Re-exported from another package (the AI SDK's mock models in `colloquy/testing`): their hover is
 * that package's declaration, which this package cannot annotate.
 */
const FOREIGN = [
  'colloquy/testing MockLanguageModelV3',
  'colloquy/testing MockSpeechModelV3',
  'colloquy/testing MockTranscriptionModelV3',
];

interface Example {
  /** `colloquy/server createApp #1`. */
  label: string;
  /** The module's file name in the temp dir. */
  file: string;
  code: string;
}

interface Survey {
  /** Runtime exports per entry. */
  total: Record<string, number>;
  missing: string[];
  foreign: string[];
  examples: Example[];
}

/** The ```ts blocks of an `@example` tag's text. */
function fencedBlocks(text: string): string[] {
  const blocks: string[] = [];
  const fence = /```(?:ts|typescript)[^\n]*\n([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) blocks.push(m[1]!);
  return blocks;
}

function survey(): Survey {
  const files = Object.values(ENTRIES).map((f) => join(root, f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const out: Survey = { total: {}, missing: [], foreign: [], examples: [] };
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(root, file));
    if (!source) throw new Error(`${file} is not built`);
    const module = checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file} is not a module`);
    out.total[entry] = 0;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable)))
        continue;
      out.total[entry]++;
      const label = `${entry} ${exported.name}`;
      const declared = symbol.declarations?.[0]?.getSourceFile().fileName ?? '';
      if (!declared.startsWith(`${dist}/`)) {
        out.foreign.push(label);
        continue;
      }
      const blocks = symbol
        .getJsDocTags(checker)
        .filter((t) => t.name === 'example')
        .flatMap((t) => fencedBlocks(ts.displayPartsToString(t.text)));
      if (blocks.length === 0) out.missing.push(label);
      blocks.forEach((code, i) => {
        const file = `${entry.replace('/', '_')}__${exported.name}__${i + 1}.ts`;
        out.examples.push({ label: `${label} #${i + 1}`, file, code });
      });
    }
  }
  return out;
}

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('@example on the public API (the built .d.ts, as an editor hover shows it)', () => {
  const found = survey();

  it('every class, function and constant of colloquy, colloquy/server, colloquy/livekit, colloquy/testing has an @example', () => {
    expect(found.total.colloquy).toBeGreaterThan(50);
    expect(found.foreign).toEqual(FOREIGN);
    // A new export needs an `@example` in its JSDoc (a ```ts block importing from the package).
    expect(found.missing, 'exports without an @example').toEqual([]);
  });

  it('an @example block is extracted whole from its tag', () => {
    const text =
      "Intro.\n```ts\nimport { a } from 'colloquy';\n\nconst b = a(1);\n```\nAfter.\n```ts\nb();\n```";
    expect(fencedBlocks(text)).toEqual(["import { a } from 'colloquy';\n\nconst b = a(1);\n", 'b();\n']);
  });

  it('every @example typechecks against the built package, each a module of its own, strict', {
    timeout: 300_000,
  }, async () => {
    const documented =
      Object.values(found.total).reduce((a, b) => a + b, 0) - found.foreign.length - found.missing.length;
    expect(found.examples.length).toBeGreaterThanOrEqual(documented);
    // `export {}` keeps an example without imports a module (its names do not clash with others').
    const modules = new Map(found.examples.map((e) => [e.file, `${e.code}export {};\n`]));
    // "colloquy_server__createApp__1.ts" line 4 → "colloquy/server createApp #1 line 4: error TS…".
    const errors = (await typecheckModules(dir, modules)).map(({ file, line, message }) => {
      const example = found.examples.find((e) => e.file === file);
      return example ? `${example.label} line ${line}: ${message}` : message;
    });
    expect(errors).toEqual([]);
  });
});
