/**
 * The playground page served at `/`: talk to the agent from a browser with the real Pipecat client
 * over the WebSocket transport. It shows the live transcript, tool calls, client events
 * (`client_event` tools) and per-turn latency. Bundled for the browser by `bundle.ts`.
 */
import { PipecatClient, type TranscriptData } from '@pipecat-ai/client-js';
import { WavMediaManager, WebSocketTransport } from '@pipecat-ai/websocket-transport';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = $('log');
const status = $('status');
const button = $<HTMLButtonElement>('talk');
const textForm = $<HTMLFormElement>('text-form');
const textInput = $<HTMLInputElement>('text');
let client: PipecatClient | undefined;
let botLine: HTMLElement | undefined;

function line(kind: string, text: string): HTMLElement {
  const el = document.createElement('div');
  el.className = `line ${kind}`;
  el.textContent = text;
  log.appendChild(el);
  log.scrollTop = log.scrollHeight;
  return el;
}

function setStatus(text: string): void {
  status.textContent = text;
}

async function start(): Promise<void> {
  button.disabled = true;
  setStatus('connecting…');
  client = new PipecatClient({
    transport: new WebSocketTransport({ mediaManager: new WavMediaManager(512, 16000) }),
    enableMic: true,
    enableCam: false,
    callbacks: {
      onBotReady: () => setStatus('listening — say something'),
      onDisconnected: () => {
        setStatus('disconnected');
        button.textContent = 'Start talking';
        button.disabled = false;
        client = undefined;
      },
      onUserStartedSpeaking: () => setStatus('hearing you…'),
      onUserTranscript: (d: TranscriptData) => {
        if (d.final) line('user', `You: ${d.text}`);
      },
      onBotLlmStarted: () => {
        setStatus('thinking…');
        botLine = undefined;
      },
      onBotTtsText: (d: { text: string }) => {
        botLine ??= line('bot', 'Bot: ');
        botLine.textContent += `${d.text} `;
      },
      onBotStartedSpeaking: () => setStatus('speaking (talk over me to interrupt)'),
      onBotStoppedSpeaking: () => setStatus('listening'),
      onLLMFunctionCallInProgress: (d: { function_name?: string; arguments?: unknown }) =>
        line('tool', `Tool: ${d.function_name}(${JSON.stringify(d.arguments ?? {})})`),
      onServerMessage: (m: { type?: string; data?: unknown }) => {
        if (m?.type === 'conversation-end') line('meta', `call ended: ${JSON.stringify(m.data)}`);
        else if (m?.type?.startsWith('custom.'))
          line('event', `Client event: ${m.type} ${JSON.stringify(m.data)}`);
      },
      onMetrics: (m: Record<string, unknown>) => {
        if (typeof m.total_latency_ms === 'number')
          line('meta', `${Math.round(m.total_latency_ms)} ms from end of speech to first audio`);
      },
      onError: (e: unknown) => line('error', `error: ${JSON.stringify((e as { data?: unknown }).data ?? e)}`),
    },
  });
  await client.initDevices();
  const token = new URLSearchParams(location.search).get('token');
  await client.startBotAndConnect({
    endpoint: `${location.origin}/connect`,
    requestData: {},
    ...(token ? { headers: new Headers({ Authorization: `Bearer ${token}` }) } : {}),
  });
  button.textContent = 'Hang up';
  button.disabled = false;
}

button.addEventListener('click', () => {
  if (client) void client.disconnect();
  else
    start().catch((err) => {
      line('error', String(err?.message ?? err));
      setStatus('failed to connect');
      button.disabled = false;
    });
});

textForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = textInput.value.trim();
  if (!text || !client) return;
  line('user', `You (typed): ${text}`);
  void client.sendText(text);
  textInput.value = '';
});
