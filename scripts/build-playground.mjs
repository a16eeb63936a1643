#!/usr/bin/env node
/**
 * Builds the playground console at build time (`npm run build`): bundles
 * src/server/playground/page/main.ts with the Pipecat client libraries for the browser and copies
 * index.html, into dist/playground/. The server only serves these files; it never bundles.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/server/playground');

/**
 * The transports import Daily's SDK for their default media manager; the console always passes the
 * packages' own WavMediaManager, so Daily (~250 kB) is replaced by a module that fails loudly if
 * anything ever reaches for it.
 */
const withoutDaily = {
  name: 'without-daily',
  setup(build) {
    build.onResolve({ filter: /^@daily-co\/daily-js$/ }, () => ({ path: 'daily-js', namespace: 'without-daily' }));
    build.onLoad({ filter: /.*/, namespace: 'without-daily' }, () => ({
      contents:
        "const missing = () => { throw new Error('The Colloquy console uses WavMediaManager; Daily is not bundled'); };\n" +
        'export default { getCallInstance: missing, createCallObject: missing, supportedBrowser: () => ({}) };\n',
      loader: 'js',
    }));
  },
};

/** @param {{outDir?: string}} [options] */
export async function buildPlayground(options = {}) {
  const outDir = options.outDir ?? join(root, 'dist/playground');
  const { build } = await import('esbuild');
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'page/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    outfile: join(outDir, 'app.js'),
    write: false,
    logLevel: 'silent',
    plugins: [withoutDaily],
  });
  const script = result.outputFiles[0].contents;
  // Written beside and renamed, so a server reading the directory never sees half a file.
  await replace(join(outDir, 'app.js'), script);
  await replace(join(outDir, 'index.html'), await readFile(join(source, 'index.html')));
  const bytes = script.byteLength;
  return { outDir, bytes };
}

/** @param {string} path @param {Uint8Array} bytes */
async function replace(path, bytes) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, bytes } = await buildPlayground();
  console.log(`playground built: ${outDir} (${Math.round(bytes / 1024)} kB)`);
}
