/**
 * The playground console's files, built at build time by `npm run build`
 * (scripts/build-playground.mjs) into `dist/playground/`. The server only reads them (once, then
 * from memory); it never bundles. A missing build is a typed error naming the command to run.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../errors.ts';

/** `dist/playground` of the package (this file lives in src/server/playground or dist/server/playground). */
export const PLAYGROUND_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/playground');

export interface PlaygroundAssets {
  html: string;
  script: string;
  /** livekit-client and the console's LiveKit code, loaded by the page when LiveKit is chosen. */
  liveKitScript: string;
}

/** The prebuilt console was not found (run `npm run build`). */
export class PlaygroundNotBuiltError extends ConfigError {
  constructor(dir: string, cause: unknown) {
    super(
      'playground_not_built',
      `The playground page is not built (looked in ${dir}): run \`npm run build\``,
      { cause, details: { dir } },
    );
  }
}

/** Reads the prebuilt page once per directory; a failed read is retried on the next call. */
export class PlaygroundFiles {
  private loading: Promise<PlaygroundAssets> | undefined;

  constructor(readonly dir: string = PLAYGROUND_DIR) {}

  load(): Promise<PlaygroundAssets> {
    this.loading ??= Promise.all([
      readFile(join(this.dir, 'index.html'), 'utf8'),
      readFile(join(this.dir, 'app.js'), 'utf8'),
      readFile(join(this.dir, 'livekit.js'), 'utf8'),
    ]).then(
      ([html, script, liveKitScript]) => ({ html, script, liveKitScript }),
      (cause) => {
        this.loading = undefined;
        throw new PlaygroundNotBuiltError(this.dir, cause);
      },
    );
    return this.loading;
  }
}
