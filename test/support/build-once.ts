/**
 * Vitest global setup: tests that run the package as users do (the packed tarball, `npm start`,
 * the `colloquy` command) need a `dist/` built from the current sources. It is rebuilt once per test
 * run, only when a source is newer than the build. It also gives the run a directory for the
 * browser tests' page bundles (test/browser/bundle.ts), removed when the run ends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUNDLE_DIR_ENV } from '../browser/bundle.ts';

const root = resolve(import.meta.dirname, '../..');

function newestMtime(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    // Tests beside the sources are not built: editing one needs no rebuild.
    if (/\.test(-d)?\.ts$/.test(name)) continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

function buildTime(): number {
  try {
    return statSync(join(root, 'dist', 'index.js')).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): () => void {
  // The browser tests' page bundles are built once per run, by the first file that needs each.
  const bundles = mkdtempSync(join(tmpdir(), 'colloquy-test-bundles-'));
  process.env[BUNDLE_DIR_ENV] = bundles;
  const teardown = () => rmSync(bundles, { recursive: true, force: true });
  const inputs = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
  const newest = Math.max(...inputs.map((p) => newestMtime(join(root, p))));
  if (newest > buildTime())
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  return teardown;
}
