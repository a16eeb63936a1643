/**
 * Builds the playground page's script once per process with esbuild (the Pipecat client libraries
 * bundled for the browser). The result is cached in memory.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
// Page sources ship in src/ (also when this module runs from dist/).
const srcDir = existsSync(join(here, 'page.ts')) ? here : resolve(here, '../../../src/server/playground');
let cached: Promise<string> | undefined;

export function playgroundHtml(): Promise<string> {
  return readFile(join(srcDir, 'index.html'), 'utf8');
}

export function playgroundScript(): Promise<string> {
  cached ??= build().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function build(): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (cause) {
    throw new ConfigError('playground_unavailable', 'The playground needs esbuild to bundle its page', {
      cause,
    });
  }
  const source = join(srcDir, 'page.ts');
  const result = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
