#!/usr/bin/env node
/**
 * Builds the playground console at build time (`npm run build`): bundles
 * src/server/playground/page/main.ts with the Pipecat client libraries for the browser (app.js),
 * page/livekit.ts with livekit-client (livekit.js, loaded when LiveKit is chosen) and copies
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
  const bundle = async (entry, outfile) => {
    const result = await build({
      entryPoints: [join(source, entry)],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      define: { 'process.env.NODE_ENV': '"production"' },
      outfile: join(outDir, outfile),
      write: false,
      logLevel: 'silent',
      plugins: [withoutDaily],
    });
    return result.outputFiles[0].contents;
  };
  // The console, and livekit-client with the console's LiveKit code: loaded only when LiveKit is chosen.
  const [script, liveKit] = await Promise.all([bundle('page/main.ts', 'app.js'), bundle('page/livekit.ts', 'livekit.js')]);
  // Written beside and renamed, so a server reading the directory never sees half a file.
  await replace(join(outDir, 'app.js'), script);
  await replace(join(outDir, 'livekit.js'), liveKit);
  await replace(join(outDir, 'index.html'), await readFile(join(source, 'index.html')));
  const bytes = script.byteLength;
  return { outDir, bytes, liveKitBytes: liveKit.byteLength };
}

/** @param {string} path @param {Uint8Array} bytes */
async function replace(path, bytes) {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir, bytes, liveKitBytes } = await buildPlayground();
  console.log(
    `playground built: ${outDir} (${Math.round(bytes / 1024)} kB, LiveKit ${Math.round(liveKitBytes / 1024)} kB)`,
  );
}
