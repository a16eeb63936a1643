#!/usr/bin/env node
/**
 * Builds the drop-in voice widget at build time (`npm run build`): bundles
 * src/client/widget/main.ts with `livekit-client` into one script, dist/widget/colloquy-widget.js.
 * The server only serves it (`GET /livekit/widget.js`); it never bundles.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** @param {{outDir?: string}} [options] */
export async function buildWidget(options = {}) {
  const outDir = options.outDir ?? join(root, 'dist/widget');
  const { build } = await import('esbuild');
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'src/client/widget/main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    outfile: join(outDir, 'colloquy-widget.js'),
    logLevel: 'silent',
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, file: join(outDir, 'colloquy-widget.js'), bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { file, bytes } = await buildWidget();
  console.log(`widget built: ${file} (${Math.round(bytes / 1024)} kB)`);
}
