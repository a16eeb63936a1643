/**
 * Test helpers for VoiceAgent / VideoAgent: AI SDK mock speech and transcription models (the
 * provider's real interface), a real `ws` server on 127.0.0.1, a protocol client that records every
 * message, and an ordered recorder of agent events.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpeechModelV3CallOptions, TranscriptionModelV3CallOptions } from '@ai-sdk/provider';
import { MockSpeechModelV3, MockTranscriptionModelV3 } from 'ai/test';
import WebSocket, { WebSocketServer } from 'ws';
import type { AgentEventMap } from '../../src/surfaces/voice-agent/options.ts';
import type { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { sleep } from '../../src/testing/abortable.ts';

export { sleep };

const response = { timestamp: new Date(0), modelId: 'mock' };

/** The bytes the mock speech model returns for a text: `AUDIO<text>` (so order is checkable). */
export const audioFor = (text: string): Uint8Array => new TextEncoder().encode(`AUDIO<${text}>`);
export const textOfAudio = (bytes: Uint8Array | string): string => {
  const raw =
    typeof bytes === 'string' ? Buffer.from(bytes, 'base64').toString() : Buffer.from(bytes).toString();
  return raw.slice(6, -1);
};

export interface MockSpeech {
  model: MockSpeechModelV3;
  calls: SpeechModelV3CallOptions[];
  aborted: string[];
  /** Texts in the order their audio was produced. */
  completed: string[];
}

/**
 * An AI SDK speech model: `delayFor(text)` ms per request, `failOn` texts throw. `finishesAfter(text)`
 * names a text whose audio must be produced before this one's (an order that holds however loaded the
 * machine is, unlike two delays).
 */
export function mockSpeechModel(
  options: {
    delayFor?: (text: string) => number;
    failOn?: (text: string) => boolean;
    finishesAfter?: (text: string) => string | undefined;
  } = {},
): MockSpeech {
  const calls: SpeechModelV3CallOptions[] = [];
  const aborted: string[] = [];
  const completed: string[] = [];
  const done = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const doneOf = (text: string) => {
    let d = done.get(text);
    if (d === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      d = { promise, resolve };
      done.set(text, d);
    }
    return d;
  };
  const model = new MockSpeechModelV3({
    provider: 'mock-speech',
    modelId: 'gpt-4o-mini-tts-mock',
    doGenerate: async (call) => {
      calls.push(call);
      try {
        await sleep(options.delayFor?.(call.text) ?? 5, call.abortSignal);
        const before = options.finishesAfter?.(call.text);
        if (before !== undefined) await abortable(doneOf(before).promise, call.abortSignal);
      } catch (err) {
        aborted.push(call.text);
        throw err;
      }
      if (options.failOn?.(call.text)) throw new Error(`speech failed for "${call.text}"`);
      completed.push(call.text);
      doneOf(call.text).resolve();
      return { audio: audioFor(call.text), warnings: [], response };
    },
  });
  return { model, calls, aborted, completed };
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}

export interface MockTranscription {
  model: MockTranscriptionModelV3;
  calls: TranscriptionModelV3CallOptions[];
}

/** An AI SDK transcription model answering each call with the next scripted text (the last repeats). */
export function mockTranscriptionModel(
  script: Array<string | Error>,
  language = 'en',
  delayMs = 5,
): MockTranscription {
  const calls: TranscriptionModelV3CallOptions[] = [];
  const model = new MockTranscriptionModelV3({
    provider: 'mock-stt',
    modelId: 'whisper-mock',
    doGenerate: async (call) => {
      const next = script[Math.min(calls.length, script.length - 1)];
      calls.push(call);
      await sleep(delayMs, call.abortSignal);
      if (next instanceof Error) throw next;
      return { text: next, segments: [], language, durationInSeconds: 1, warnings: [], response };
    },
  });
  return { model, calls };
}

/**
 * A transcription model whose every call waits until the test calls `release()`, then answers 'words':
 * with the first call held, what waits behind it is known. `started()`: how many calls began.
 */
export function heldTranscriptionModel() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  const model = new MockTranscriptionModelV3({
    provider: 'mock-stt',
    modelId: 'held',
    doGenerate: async () => {
      started++;
      await held;
      return { text: 'words', segments: [], language: 'en', durationInSeconds: 1, warnings: [], response };
    },
  });
  return { model, release, started: () => started };
}

/** A real WebSocket server on 127.0.0.1 (random port). */
export async function startServer(onConnection: (socket: WebSocket, request: IncomingMessage) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', onConnection);
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

export type Msg = { type: string; [key: string]: unknown };

/** Records every JSON message received on a socket. */
export class MessageLog {
  readonly messages: Msg[] = [];
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse(data.toString()) as Msg);
    });
  }

  types(filter?: string[]): string[] {
    return this.messages.map((m) => m.type).filter((t) => !filter || filter.includes(t));
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  async waitFor(type: string, predicate: (m: Msg) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
    const started = Date.now();
    for (;;) {
      const hit = this.messages.find((m) => m.type === type && predicate(m));
      if (hit) return hit;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`Timed out waiting for "${type}"; got: ${this.types().join(', ')}`);
      }
      await sleep(2);
    }
  }
}

/** Opens a client socket to `url`. */
export async function openClient(url: string): Promise<MessageLog> {
  const socket = new WebSocket(url);
  const log = new MessageLog(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return log;
}

/** The close code and reason the client's socket gets. */
export const closedWith = (log: MessageLog) =>
  new Promise<[number, string]>((resolve) =>
    log.socket.once('close', (code, reason) => resolve([code, reason.toString()])),
  );

export type Recorded = {
  [K in keyof AgentEventMap]: { name: K; args: AgentEventMap[K] };
}[keyof AgentEventMap];

/** Records the agent's events (all seed 001 names), in order. */
export function recordEvents(agent: VoiceAgent): Recorded[] {
  const names: Array<keyof AgentEventMap> = [
    'text',
    'chunk:text_delta',
    'chunk:reasoning_delta',
    'speech_start',
    'speech_complete',
    'speech_interrupted',
    'speech_chunk_queued',
    'audio_chunk',
    'audio',
    'chunk:tool_call',
    'tool_result',
    'transcription',
    'audio_received',
    'history_cleared',
    'history_trimmed',
    'connected',
    'disconnected',
    'frame_received',
    'frame_requested',
    'client_ready',
    'config_changed',
    'error',
    'warning',
  ];
  const out: Recorded[] = [];
  for (const name of names) {
    agent.on(name, ((...args: unknown[]) => out.push({ name, args } as Recorded)) as never);
  }
  return out;
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('Timed out waiting for a condition');
    await sleep(2);
  }
}
