/**
 * The package as a user gets it: `npm pack`, then `npm install colloquy-*.tgz ai zod` in a fresh
 * project (from the local npm cache, no audit), then the README's minimal agent with a mock model.
 * Heavy, native and feature-specific packages are optional peers: they are not installed, and each
 * feature that needs one fails with a MissingDependencyError naming the install command.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlock } from '../support/markdown.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  dependencies: Record<string, string>;
  exports: Record<string, { types: string }>;
};
const OPTIONAL = Object.keys(pkg.peerDependencies).filter((p) => pkg.peerDependenciesMeta[p]?.optional);

async function sizeOf(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}

describe('npm install colloquy (the packed tarball) in a fresh project', () => {
  let dir: string;
  let packed: string[];
  let app: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colloquy-install-'));
    // dist/ is fresh: test/support/build-once.ts rebuilt it before the run if a source changed.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
    });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path);
    app = join(dir, 'app');
    await run('mkdir', [app]);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    await run(
      'npm',
      ['install', join(dir, info.filename), 'ai@6', 'zod@4', '--prefer-offline', '--no-audit', '--no-fund'],
      { cwd: app, env: { ...process.env, npm_config_loglevel: 'error' } },
    );
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships no test files and no internal notes', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('bin/colloquy.js');
    expect(packed).toContain('README.md');
    expect(packed.filter((f) => /\.test(-d)?\.|(^|\/)test\//.test(f))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('notes/'))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(5);
  });

  it('installs only the light core: no optional package comes along, and the install is small', async () => {
    const modules = join(app, 'node_modules');
    // `@opentelemetry/api` is a dependency of `ai` itself (the AI SDK's telemetry): it comes with the
    // core whatever Colloquy declares; its SDK packages, which do the exporting, do not.
    for (const name of OPTIONAL.filter((n) => n !== '@opentelemetry/api')) {
      await expect(stat(join(modules, name)), name).rejects.toMatchObject({ code: 'ENOENT' });
    }
    for (const name of Object.keys(pkg.dependencies))
      expect((await stat(join(modules, name))).isDirectory()).toBe(true);
    const mb = (await sizeOf(modules)) / 1e6;
    console.log(`fresh install of colloquy + ai + zod: ${mb.toFixed(1)} MB in node_modules`);
    expect(mb).toBeLessThan(80);
  });

  it("no public declaration file references an optional package's types", async () => {
    // The declarations a user's compiler reads: those reachable from the exports map's entries.
    const installed = join(app, 'node_modules', 'colloquy');
    const entries = Object.values(pkg.exports).map((e) => e.types);
    expect(entries).toContain('./dist/server/livekit.d.ts');
    const queue = entries.map((f) => join(installed, f));
    const seen = new Set<string>();
    const offenders: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      // Doc comments are not references: an `@example` may import a provider the way a user does.
      const text = (await readFile(file, 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '');
      for (const name of OPTIONAL) {
        if (text.includes(`from '${name}'`) || text.includes(`import('${name}')`))
          offenders.push(`${file}: ${name}`);
      }
      for (const m of text.matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)'/g)) {
        queue.push(join(dirname(file), m[1]!.replace(/\.(ts|js)$/, '.d.ts')));
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });

  it("runs the README's minimal agent with a mock model in place of OpenAI", async () => {
    const readme = codeBlock(join(root, 'README.md'), 'A minimal agent in TypeScript', 'ts').code;
    expect(readme).toContain("model: openai('gpt-4.1-mini')");
    const script = readme
      .replace(
        "import { openai } from '@ai-sdk/openai';",
        "import { mockLanguageModel } from 'colloquy/testing';",
      )
      .replace(
        "model: openai('gpt-4.1-mini')",
        "model: mockLanguageModel([[{ toolCall: { name: 'weather', args: { city: 'Paris' } } }], (call) => 'Paris is ' + call.prompt.at(-1).content[0].output.value.tempC + ' degrees.'])",
      );
    await writeFile(join(app, 'agent.mjs'), script);
    const { stdout, stderr } = await run('node', ['agent.mjs'], { cwd: app, timeout: 30_000 });
    expect(stderr).toBe('');
    expect(stdout).toContain('Paris is 21 degrees.');
    expect(stdout).toMatch(/turn latency/);
  });

  it('each optional feature fails with MissingDependencyError naming the npm install command', async () => {
    await writeFile(
      join(app, 'features.mjs'),
      `import { createOpusEncoder, EspeakTts, KnowledgeBase, MissingDependencyError, SileroVad } from 'colloquy';
import { liveKitAvailable, registerLiveKitRoutes } from 'colloquy/livekit';
import { loadServerConfig, resolveLanguageModel, resolveStt, startServer } from 'colloquy/server';
const out = {};
async function probe(name, fn) {
  try {
    await fn();
    out[name] = 'worked';
  } catch (e) {
    out[name] = e instanceof MissingDependencyError ? { code: e.code, message: e.message } : String(e);
  }
}
await probe('silero', () => new SileroVad());
await probe('silero with a model file', () => new SileroVad({ modelPath: 'silero.onnx' }));
await probe('openai llm', () => resolveLanguageModel('openai:gpt-4.1-mini', {}));
await probe('openai stt', () => resolveStt('openai:gpt-4o-mini-transcribe', {}));
await probe('anthropic', () => resolveLanguageModel('anthropic:claude-sonnet-4-5', {}));
await probe('google', () => resolveLanguageModel('google:gemini-2.5-flash', {}));
await probe('groq', () => resolveLanguageModel('groq:llama-3.3-70b-versatile', {}));
await probe('compatible', () => resolveLanguageModel('openai-compatible:m@http://127.0.0.1:9/v1', {}));
await probe('opus', () => createOpusEncoder());
await probe('kb', () => KnowledgeBase.fromDocuments([{ text: 'Breakfast is at seven.' }]));
await probe('espeak wasm', async () => {
  for await (const _ of new EspeakTts({ backend: 'wasm' }).synthesize({ text: 'hi' }));
});
const warnings = [];
const quiet = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
out['livekit available'] = liveKitAvailable(quiet);
out['livekit warning'] = warnings;
await probe('livekit routes', async () => {
  const config = loadServerConfig({ PORT: '0', HOST: '127.0.0.1', COLLOQUY_STORE: 'memory' });
  const server = await startServer({ config, logger: quiet, registerRoutes: (app, ctx) => { registerLiveKitRoutes(app, ctx); } });
  await server.close();
});
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await run('node', ['features.mjs'], { cwd: app, timeout: 30_000 });
    const missing = (pkgName: string) => ({
      code: 'missing_dependency',
      message: expect.stringContaining(`run \`npm install ${pkgName}\``),
    });
    expect(JSON.parse(stdout)).toEqual({
      silero: missing('onnxruntime-node'),
      'silero with a model file': missing('onnxruntime-node'),
      'openai llm': missing('@ai-sdk/openai'),
      'openai stt': missing('@ai-sdk/openai'),
      anthropic: missing('@ai-sdk/anthropic'),
      google: missing('@ai-sdk/google'),
      groq: missing('@ai-sdk/groq'),
      compatible: missing('@ai-sdk/openai-compatible'),
      opus: missing('opusscript'),
      kb: missing('@orama/orama'),
      'espeak wasm': missing('espeak-ng'),
      'livekit available': false,
      'livekit warning': ['LiveKit rooms disabled: run `npm install @livekit/protocol @roamhq/wrtc`'],
      'livekit routes': missing('@livekit/protocol'),
    });
  });
});
