/**
 * Launches Debian's Chromium through playwright-core, headless, with a fake microphone fed from a WAV
 * file. Each launch gets a fresh profile directory, removed on close. A missing browser is an error,
 * never a skipped test.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface LaunchOptions {
  /** WAV played as the microphone (48 kHz mono works), once unless `loop`. */
  wav: string;
  /** Play the WAV over and over. Default false. */
  loop?: boolean;
  /** Extra Chromium flags. */
  args?: string[];
}

export interface LaunchedChromium {
  context: BrowserContext;
  page: Page;
  /** Console lines and page errors, for failure messages. */
  logs: string[];
  close(): Promise<void>;
}

export function chromiumArgs(wav: string, loop = false): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--allow-loopback-in-peer-connection',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}${loop ? '' : '%noloop'}`,
    '--autoplay-policy=no-user-gesture-required',
  ];
}

export async function launchChromium(options: LaunchOptions): Promise<LaunchedChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) to run browser tests`,
    );
  }
  if (!existsSync(options.wav)) throw new Error(`fake microphone file not found: ${options.wav}`);
  const profile = await mkdtemp(join(tmpdir(), 'colloquy-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...chromiumArgs(options.wav, options.loop), ...(options.args ?? [])],
      permissions: ['microphone'],
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  page.on('console', (msg) => logs.push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));
  return {
    context,
    page,
    logs,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
