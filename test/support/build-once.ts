/**
 * Vitest global setup: tests that run the package as users do (the packed tarball, `npm start`,
 * the `colloquy` command) need a `dist/` built from the current sources. It is rebuilt once per test
 * run, only when a source is newer than the build.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

export default function setup(): void {
  const inputs = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
  const newest = Math.max(...inputs.map((p) => newestMtime(join(root, p))));
  if (newest <= buildTime()) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
