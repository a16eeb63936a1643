/** What the test page records and accepts (shared by the page and the Node side of tests). */

/** One recorded client callback: `data` is its first argument, `extra` the others. */
export interface PageEvent {
  name: string;
  data: unknown;
  extra?: unknown;
  /** ms since the page loaded. */
  t: number;
}

export interface StartOptions {
  transport: 'websocket' | 'small-webrtc';
  /** `startBotAndConnect({endpoint, requestData, headers})`: POST /connect first. */
  endpoint?: string;
  requestData?: unknown;
  headers?: Record<string, string>;
  /** Without `endpoint`: `connect(connectParams)` directly (e.g. `{wsUrl}`). */
  connectParams?: unknown;
  enableMic?: boolean;
}

export type StartResult = { ok: true; botReady: unknown } | { ok: false; error: string };

/** The bot's remote audio as the page's AnalyserNode measured it. */
export interface RemoteAudioStats {
  /** Remote audio tracks attached. */
  tracks: number;
  /** Samples read above 0.01 (-40 dBFS). */
  nonSilentSamples: number;
  /** Largest absolute sample value read (0-1). */
  peak: number;
}
