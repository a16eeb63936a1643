/**
 * Shared pieces of the playground console's browser tests: reading the page (transcript lines,
 * texts), bounded waits with the page's state in the failure, the prebuilt page, and a hook that
 * captures the sessions a server creates.
 */
import type { Page } from 'playwright-core';
import { buildPlayground } from '../../scripts/build-playground.mjs';
import type { RtviSession } from '../../src/server/rtvi-session.ts';
import type { RunningServer } from '../../src/server/server.ts';
import type { LaunchedChromium } from '../browser/index.ts';
import { until } from './helpers.ts';

export const SAID = 'what time is breakfast';
export const ANSWER_PART = 'garden room';

export interface Line {
  cls: string;
  text: string;
}

let built: Promise<unknown> | undefined;
/** Builds the page into dist/playground once per process, as `npm run build` does. */
export const buildPageOnce = () => {
  built ??= buildPlayground();
  return built;
};

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
