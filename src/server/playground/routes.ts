/**
 * The playground's HTTP routes: `GET /` (the console page), `GET /playground/app.js` (its prebuilt
 * script; `/playground/livekit.js` holds livekit-client, loaded when LiveKit is chosen) and `GET /playground/info.json` (what the page adapts to: which transports this server
 * offers and, when speech is recognised with a grammar, the phrases it understands).
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Hono } from 'hono';
import type { ServerContext } from '../app.ts';
import { resolveProfile } from '../config.ts';
import { parseSpec } from '../model-spec.ts';
import { type PlaygroundAssets, PlaygroundFiles } from './assets.ts';
import { grammarPhrases } from './grammar-phrases.ts';

/** What `GET /playground/info.json` answers. */
export interface PlaygroundInfo {
  transports: { websocket: boolean; webrtc: boolean; livekit: boolean };
  /** Phrases the speech recogniser understands (grammar-based STT only), else `[]`. */
  phrases: string[];
  /** True when the server asks for `Authorization: Bearer <token>`. */
  auth: boolean;
}

/** Largest grammar file read for hints. */
const MAX_GRAMMAR_BYTES = 64 * 1024;

export function registerPlaygroundRoutes(
  app: Hono,
  context: ServerContext,
  files = new PlaygroundFiles(),
): void {
  const notBuilt = (err: unknown) => {
    context.logger.error('playground unavailable', err);
    return err instanceof Error ? err.message : String(err);
  };

  app.get('/', async (c) => {
    try {
      return c.html((await files.load()).html);
    } catch (err) {
      return c.text(notBuilt(err), 503);
    }
  });

  const script = (path: string, pick: (a: PlaygroundAssets) => string) =>
    app.get(path, async (c) => {
      try {
        return c.body(pick(await files.load()), 200, {
          'content-type': 'text/javascript; charset=utf-8',
          'cache-control': 'no-cache',
        });
      } catch (err) {
        return c.text(notBuilt(err), 503);
      }
    });
  script('/playground/app.js', (a) => a.script);
  script('/playground/livekit.js', (a) => a.liveKitScript);

  let phrases: Promise<string[]> | undefined;
  app.get('/playground/info.json', context.auth, async (c) => {
    phrases ??= demoPhrases(context).catch((err) => {
      context.logger.warn('playground: cannot read the grammar for hints', err);
      return [];
    });
    const paths = new Set(app.routes.map((r) => r.path));
    const info: PlaygroundInfo = {
      transports: {
        websocket: true,
        webrtc: paths.has('/api/offer'),
        livekit: paths.has('/livekit/connection-details'),
      },
      phrases: await phrases,
      auth: context.config.authToken !== undefined,
    };
    return c.json(info);
  });
}

/** The phrases of the default profile's grammar, when its STT is `pocketsphinx:GRAMMAR`. */
async function demoPhrases(context: ServerContext): Promise<string[]> {
  const { stt } = resolveProfile(context.config, {}).models;
  const spec = parseSpec(stt, 'STT');
  if (spec.provider !== 'pocketsphinx' || !spec.model) return [];
  const file = await open(resolve(context.config.baseDir, spec.model), 'r');
  try {
    const buffer = Buffer.alloc(MAX_GRAMMAR_BYTES);
    const { bytesRead } = await file.read(buffer, 0, MAX_GRAMMAR_BYTES, 0);
    return grammarPhrases(buffer.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await file.close();
  }
}
