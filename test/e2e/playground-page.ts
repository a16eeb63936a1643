/**
 * Shared pieces of the playground console's browser tests: reading the page (transcript lines,
 * texts), bounded waits with the page's state in the failure, and a hook that captures the sessions
 * a server creates. The page itself is dist/playground, built by `npm run build`, which the suite's
 * global setup (test/support/build-once.ts) runs when a source is newer than the build.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ServerConfig } from '../../src/server/config.ts';
import type { RtviSession } from '../../src/server/rtvi-session.ts';
import type { RunningServer } from '../../src/server/server.ts';
import { FAKE_MIC_SAMPLE_RATE, type LaunchedChromium, wavBytes } from '../browser/index.ts';
import { until } from './helpers.ts';

export const SAID = 'what time is breakfast';

/** The demo with a long greeting, so typing while it plays cuts it off even on a loaded machine. */
export const withLongGreeting = (config: ServerConfig): ServerConfig => ({
  ...config,
  file: {
    ...config.file,
    greeting:
      'Hello! I am the Colloquy demo concierge. I can tell you about breakfast, check out, the wifi and the pool, and I can show you a map of the hotel.',
  },
});
export const ANSWER_PART = 'garden room';

export interface Line {
  cls: string;
  text: string;
}

export const lines = (page: Page): Promise<Line[]> =>
  page.$$eval('#log .line', (els) => els.map((e) => ({ cls: e.className, text: e.textContent ?? '' })));

export const texts = (page: Page, selector: string): Promise<string[]> =>
  page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));

/** Waits for a transcript line matching `pred`; the page's lines and log on timeout. */
export async function waitLine(
  browser: LaunchedChromium,
  what: string,
  pred: (l: Line) => boolean,
  timeoutMs = 60_000,
): Promise<Line> {
  return until(what, async () => (await lines(browser.page)).find(pred), timeoutMs).catch(
    async (err: Error) => {
      const seen = await lines(browser.page).catch(() => []);
      throw new Error(
        `${err.message}\nlines: ${JSON.stringify(seen)}\n${browser.logs.slice(-20).join('\n')}`,
      );
    },
  );
}

/** Waits until the page is connected (its button offers to disconnect). */
export const connected = (page: Page) =>
  until(
    'connected',
    async () => ((await page.textContent('#talk')) === 'Disconnect' ? true : undefined),
    60_000,
  );

/** Captures each session the server creates (`onSession` runs as it is created, before any audio). */
export function captureSessions(
  server: RunningServer,
  onSession?: (session: RtviSession) => void,
): RtviSession[] {
  const sessions: RtviSession[] = [];
  const create = server.context.createSession;
  server.context.createSession = (transport, profile) => {
    const s = create(transport, profile);
    sessions.push(s);
    onSession?.(s);
    return s;
  };
  return sessions;
}

/** An OpenAI-compatible endpoint that refuses every chat completion the way OpenAI does (HTTP 400). */
export async function refusingLlm(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            message: 'The model `broken-model` does not exist',
            type: 'invalid_request_error',
            code: 'model_not_found',
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A microphone that hears only a faint noise floor (-70 dBFS, never exact zeros), for `durationMs`. */
export async function quietMic(durationMs: number): Promise<string> {
  const dir = join(tmpdir(), 'colloquy-fake-mic');
  await mkdir(dir, { recursive: true });
  const samples = new Int16Array(Math.round((FAKE_MIC_SAMPLE_RATE * durationMs) / 1000));
  let seed = 7;
  for (let i = 0; i < samples.length; i++) {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
    samples[i] = (seed % 21) - 10 || 1;
  }
  const path = join(dir, `quiet-${durationMs}.wav`);
  await writeFile(path, wavBytes(samples, FAKE_MIC_SAMPLE_RATE));
  return path;
}
