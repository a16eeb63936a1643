/**
 * Typechecks snippets as a user's project would: each one written to `dir` as a module of its own
 * and compiled together with `tsc` in strict mode, `colloquy` resolving to the built dist/ through
 * the package's exports (the directory lies inside the package), the AI SDK, zod and the client
 * libraries to their published types. Used by the docs and `@example` tests.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** One `tsc` error: the module's file name, the 1-based line in it, the message (`error TS…`). */
export interface ModuleError {
  file: string;
  line: number;
  message: string;
}

/**
 * Writes each `modules` entry (file name → code) into `dir` and typechecks them all. Returns every
 * error; a line `tsc` printed that names no module comes back with `file: ''`.
 */
export async function typecheckModules(
  dir: string,
  modules: ReadonlyMap<string, string>,
): Promise<ModuleError[]> {
  await mkdir(dir, { recursive: true });
  for (const [file, code] of modules) await writeFile(join(dir, file), code);
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const output = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  return output
    .split('\n')
    .filter((l) => l.includes('error TS'))
    .map((l) => {
      const m = /^(?:.*\/)?([\w$-]+\.ts)\((\d+),\d+\): (.*)$/.exec(l);
      return m ? { file: m[1]!, line: Number(m[2]), message: m[3]! } : { file: '', line: 0, message: l };
    });
}
