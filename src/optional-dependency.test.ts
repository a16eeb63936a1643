import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import {
  hasOptional,
  importOptional,
  MissingDependencyError,
  requireOptional,
} from './optional-dependency.ts';

describe('optional dependencies', () => {
  it('loads an installed package synchronously and asynchronously', async () => {
    expect(typeof requireOptional<typeof import('zod')>('zod', 'test').z.object).toBe('function');
    expect(typeof (await importOptional<typeof import('zod')>('zod', 'test')).z.object).toBe('function');
    expect(hasOptional('zod')).toBe(true);
  });

  it('names the install command when a package is missing', async () => {
    expect(hasOptional('colloquy-no-such-package')).toBe(false);
    expect(() => requireOptional('colloquy-no-such-package', 'The feature')).toThrow(MissingDependencyError);
    const err = await importOptional('colloquy-no-such-package', 'The feature').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err).toMatchObject({
      code: 'missing_dependency',
      packageName: 'colloquy-no-such-package',
      installCommand: 'npm install colloquy-no-such-package',
    });
    expect((err as Error).message).toBe(
      'The feature needs the package "colloquy-no-such-package": run `npm install colloquy-no-such-package`',
    );
  });

  it('reports a package that is present but fails to load as dependency_failed, not missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-optional-'));
    const file = join(dir, 'throws.cjs');
    writeFileSync(file, "throw new Error('native binding missing');\n");
    let caught: unknown;
    try {
      requireOptional(file, 'The feature');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).not.toBeInstanceOf(MissingDependencyError);
    expect(caught).toMatchObject({ code: 'dependency_failed' });
    expect((caught as Error).message).toContain('native binding missing');
  });
});
