/**
 * Builds the test page (page/main.ts + the real Pipecat client packages) with esbuild at test time,
 * into a temp directory, and serves it from a loopback HTTP server.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const PAGE_ENTRY = join(here, 'page', 'main.ts');

export interface PageBundle {
  dir: string;
  /** The page HTML (loads `page.js`). */
  html: string;
  js: string;
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>colloquy test page</title></head>
<body><script src="/page.js"></script></body></html>
`;

const pending = new Map<string, Promise<PageBundle>>();

/** Bundles the Pipecat test page once per test run (see `bundleEntry`). */
export function bundlePage(): Promise<PageBundle> {
  return bundleEntry(PAGE_ENTRY, 'colloquy-test-page');
}

/**
 * Where a test run keeps its page bundles, shared by its test files (set by the global setup,
 * test/support/build-once.ts, which removes it at the end of the run).
 */
export const BUNDLE_DIR_ENV = 'COLLOQUY_TEST_BUNDLES';

/**
 * Bundles a browser entry (and the real client packages it imports) once per test run: the first
 * file that needs it builds it into the run's directory, the others read it from there. Outside a
 * run (no directory given), once per process.
 */
export function bundleEntry(entry: string, name: string): Promise<PageBundle> {
  let bundle = pending.get(entry);
  if (bundle) return bundle;
  bundle = (async () => {
    const shared = process.env[BUNDLE_DIR_ENV];
    const final = shared ? join(shared, name) : join(tmpdir(), `${name}-${process.pid}`);
    const at = (dir: string) => ({ dir, html: join(dir, 'index.html'), js: join(dir, 'page.js') });
    if (shared && existsSync(at(final).html)) return at(final);
    // Built in a directory of this process, then moved into place whole.
    const dir = shared ? `${final}.${process.pid}` : final;
    await mkdir(dir, { recursive: true });
    if (!shared) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      outfile: join(dir, 'page.js'),
      sourcemap: 'inline',
      define: { 'process.env.NODE_ENV': '"development"', global: 'globalThis' },
      logLevel: 'silent',
    });
    if (result.errors.length)
      throw new Error(`page bundle failed: ${result.errors.map((e) => e.text).join('; ')}`);
    await writeFile(join(dir, 'index.html'), HTML);
    if (dir === final) return at(final);
    try {
      await rename(dir, final);
    } catch {
      // Another file of the run moved its own build there first.
      rmSync(dir, { recursive: true, force: true });
    }
    return at(final);
  })();
  pending.set(entry, bundle);
  bundle.catch(() => pending.delete(entry));
  return bundle;
}

export interface StaticServer {
  server: Server;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** Serves `/` (the page) and `/page.js` from a bundle on 127.0.0.1. */
export async function servePage(
  bundle: PageBundle,
  options: { /** Answer every GET path with the page (for pages that navigate). */ anyPath?: boolean } = {},
): Promise<StaticServer> {
  const [html, js] = await Promise.all([readFile(bundle.html), readFile(bundle.js)]);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    } else if (path === '/' || path === '/index.html' || (options.anyPath && req.method === 'GET')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
