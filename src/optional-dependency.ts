/**
 * Optional dependencies: heavy, native or feature-specific packages (Silero's onnxruntime, WebRTC,
 * databases, provider SDKs…) are optional peer dependencies of `colloquy`. They are loaded only when
 * the feature that needs them is used, and a missing one fails with a `MissingDependencyError` that
 * names the exact install command.
 */
import { createRequire } from 'node:module';
import { ConfigError } from './errors.ts';

const require = createRequire(import.meta.url);

/**
 * An optional package a feature needs is not installed.
 *
 * @example
 * ```ts
 * import { createOpusEncoder, MissingDependencyError } from 'colloquy';
 *
 * try {
 *   const encoder = await createOpusEncoder(); // needs the optional package `opusscript`
 *   encoder.destroy();
 * } catch (err) {
 *   if (err instanceof MissingDependencyError) console.error(`run: ${err.installCommand}`); // npm install opusscript
 *   else throw err;
 * }
 * ```
 */
export class MissingDependencyError extends ConfigError {
  readonly packageName: string;
  readonly installCommand: string;
  constructor(packageName: string, feature: string, cause?: unknown) {
    const installCommand = `npm install ${packageName}`;
    super('missing_dependency', `${feature} needs the package "${packageName}": run \`${installCommand}\``, {
      cause,
      details: { packageName, feature, installCommand },
    });
    this.packageName = packageName;
    this.installCommand = installCommand;
  }
}

/** True when `err` says that `packageName` itself (not one of its own imports) could not be found. */
function isNotFound(err: unknown, packageName: string): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (e?.code !== 'MODULE_NOT_FOUND' && e?.code !== 'ERR_MODULE_NOT_FOUND') return false;
  const message = typeof e.message === 'string' ? e.message : '';
  return message.includes(`'${packageName}'`) || message.includes(`"${packageName}"`);
}

/**
 * Load an optional package synchronously (CommonJS, or ESM without top-level await on Node ≥ 20.19).
 * Throws `MissingDependencyError` when it is not installed; any other load failure is rethrown as a
 * `ConfigError` (`dependency_failed`) with the original as `cause`.
 */
export function requireOptional<T>(packageName: string, feature: string): T {
  try {
    return require(packageName) as T;
  } catch (err) {
    throw loadError(err, packageName, feature);
  }
}

/** Load an optional package with `import()`; same errors as `requireOptional`. */
export async function importOptional<T>(packageName: string, feature: string): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (err) {
    throw loadError(err, packageName, feature);
  }
}

/** True when the package can be resolved from Colloquy (nothing is loaded). */
export function hasOptional(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

function loadError(err: unknown, packageName: string, feature: string): ConfigError {
  if (isNotFound(err, packageName)) return new MissingDependencyError(packageName, feature, err);
  const message = err instanceof Error ? err.message : String(err);
  return new ConfigError('dependency_failed', `${feature}: "${packageName}" failed to load: ${message}`, {
    cause: err,
  });
}
