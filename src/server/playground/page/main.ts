/**
 * The playground console served at `/`: talk to the agent with the real Pipecat client over the
 * transport of your choice, and watch what happens — the live transcript (interim text, tool calls,
 * interruptions), every RTVI message, each turn's latency, the microphone level — with mute, device
 * choice, the session id and its stored transcript, demo hints and readable error banners.
 * Built into dist/playground by `npm run build` (scripts/build-playground.mjs).
 */
import { PipecatClient, type RTVIMessage, type TranscriptData } from '@pipecat-ai/client-js';
import { Banners } from './banners.ts';
import { byId, el } from './dom.ts';
import { showHints } from './hints.ts';
import type { LiveKitConnection } from './livekit.ts';
import { errorText, pipelineErrorText, sessionEndText } from './messages.ts';
import { MicMeter } from './mic-meter.ts';
import { devicesPicker } from './mic-picker.ts';
import { Timeline } from './timeline.ts';
import { TranscriptView } from './transcript.ts';
import { openTranscript } from './transcript-dialog.ts';
import { isTransportKind, TRANSPORTS, type TransportKind, tapMessages } from './transports.ts';
import { LatencyWaterfall } from './waterfall.ts';

type Phase = 'idle' | 'connecting' | 'connected' | 'ending';

const token = new URLSearchParams(location.search).get('token') ?? '';
const authHeaders = (): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

const status = byId('status');
const sessionBox = byId('session');
const talk = byId<HTMLButtonElement>('talk');
const muteButton = byId<HTMLButtonElement>('mute');
const transportSelect = byId<HTMLSelectElement>('transport');
const textForm = byId<HTMLFormElement>('text-form');
const textInput = byId<HTMLInputElement>('text');
const transcript = new TranscriptView(byId('log'));
const timeline = new Timeline(
  byId<HTMLOListElement>('timeline'),
  byId<HTMLInputElement>('event-filter'),
  byId<HTMLInputElement>('hide-chatty'),
);
const waterfall = new LatencyWaterfall(byId('waterfall'));
const banners = new Banners(byId('banners'));
const meter = new MicMeter(byId<HTMLMeterElement>('mic-level'));
const mics = devicesPicker(byId<HTMLSelectElement>('mic'), (id) => {
  if (client) void client.updateMic(id);
  if (liveKit) void liveKit.switchMic(id);
});

let client: PipecatClient | undefined;
/** The LiveKit room, when connected over LiveKit (the Pipecat client otherwise). */
let liveKit: LiveKitConnection | undefined;
let phase: Phase = 'idle';
let muted = false;
/** Set when the server said the conversation ended: the transport's closing error is expected then. */
let ended = false;
/** The handle a restarting server gave (`server-shutdown`): the next Talk resumes the conversation. */
let resumeHandle: string | undefined;
const remoteAudio = new Set<HTMLAudioElement>();

function setPhase(next: Phase, text: string): void {
  phase = next;
  status.textContent = text;
  talk.textContent = next === 'idle' ? 'Connect' : next === 'connecting' ? 'Connecting…' : 'Disconnect';
  talk.disabled = next === 'connecting' || next === 'ending';
  transportSelect.disabled = next !== 'idle';
}

function showSession(id: string): void {
  sessionBox.replaceChildren();
  const link = el('a', '', 'transcript');
  link.href = `/sessions/${encodeURIComponent(id)}/transcript`;
  link.addEventListener('click', (e) => {
    e.preventDefault();
    void openTranscript(link.href, authHeaders()).catch((err) =>
      banners.show('error', `Could not load the transcript: ${errorText(err)}`),
    );
  });
  sessionBox.append('Session ', el('code', '', id), ' · ', link);
}

function reportError(message: string, key = message): void {
  if (ended) return; // the transport's close after `conversation-end` is not a failure
  banners.show('error', phase === 'connecting' ? `Could not connect: ${message}` : message, key);
}

/**
 * A fatal error (the connection is going away). The WebSocket transport reports the socket's close
 * before it finished decoding the last frames, which may hold `conversation-end`: wait briefly so a
 * normal end is not shown as a failure.
 */
function reportFatal(message: string): void {
  const connecting = phase === 'connecting';
  setTimeout(() => {
    if (ended) return;
    banners.show('error', connecting ? `Could not connect: ${message}` : message, message);
  }, 400);
}

function onServerMessage(m: { type?: unknown; data?: unknown }): void {
  const data = (m?.data ?? {}) as Record<string, unknown>;
  if (m?.type === 'conversation-end') {
    ended = true;
    const end = sessionEndText(data.reason);
    transcript.note(end.text);
    if (end.kind === 'notice') banners.show('notice', end.text);
  } else if (m?.type === 'server-shutdown') {
    // The server is restarting and keeps the conversation: the next Talk resumes it with this handle.
    ended = true;
    if (typeof data.resume_handle === 'string') resumeHandle = data.resume_handle;
    const text = 'The server is restarting. Press Talk once it is back to continue this conversation.';
    transcript.note(text);
    banners.show('notice', text);
  } else if (m?.type === 'pipeline-error') {
    pipelineError(data);
  } else if (m?.type === 'user-speech-unrecognized') {
    speechUnrecognized();
  } else if (typeof m?.type === 'string' && m.type.startsWith('custom.')) {
    transcript.clientEvent(m.type, m.data);
  }
}

/** A step of the pipeline failed (`{processor, error}`): one banner; a recogniser's shows in the status. */
function pipelineError(data: Record<string, unknown>): void {
  reportError(pipelineErrorText(data), errorText(data.error));
  if (phase === 'connected' && data.processor === 'stt') status.textContent = 'speech recognition failed';
}

function speechUnrecognized(): void {
  transcript.note('Speech heard, but no words were recognised. Try again, or type.');
  if (phase === 'connected') status.textContent = 'listening';
}

function playRemote(track: MediaStreamTrack): void {
  const audio = el('audio');
  audio.autoplay = true;
  audio.srcObject = new MediaStream([track]);
  document.body.append(audio);
  remoteAudio.add(audio);
}

function onDisconnected(): void {
  meter.detach();
  for (const audio of remoteAudio) audio.remove();
  remoteAudio.clear();
  client = undefined;
  liveKit = undefined;
  setPhase('idle', ended ? 'session ended' : 'disconnected');
}

function received(message: RTVIMessage): void {
  timeline.add('in', message.type, message.data);
  if (message.type === 'bot-interrupted') transcript.botInterrupted();
}

/** Joins a LiveKit room with the agent (the server's LiveKit signalling). */
async function startLiveKit(): Promise<void> {
  ended = false;
  banners.clear();
  setPhase('connecting', 'connecting…');
  timeline.restart(`connecting over ${TRANSPORTS.livekit.label}`);
  // livekit-client is a bundle of its own (built beside app.js), loaded only for LiveKit.
  const module: string = '/playground/livekit.js';
  const { connectLiveKit } = (await import(module)) as typeof import('./livekit.ts');
  liveKit = await connectLiveKit(
    {
      transcript,
      timeline,
      meter,
      status: (text) => {
        if (phase === 'connected')
          status.textContent = muted && text === 'listening' ? 'microphone muted' : text;
      },
      waterfall,
      showSession,
      playRemote,
      reportError: (message) => reportError(message),
      pipelineError: (component, message) => pipelineError({ processor: component, error: message }),
      speechUnrecognized,
      onDisconnected,
    },
    { headers: authHeaders(), muted, deviceId: mics.preferred },
  );
  setPhase('connected', muted ? 'connected — microphone muted' : 'listening — say something');
  await mics.refresh(() => liveKit?.mics() ?? Promise.resolve([]));
}

async function start(): Promise<void> {
  const kind = transportSelect.value;
  if (!isTransportKind(kind)) throw new Error(`Unknown transport ${kind}`);
  if (kind === 'livekit') return startLiveKit();
  const choice = TRANSPORTS[kind];
  if (!choice.create) throw new Error(`${choice.label} is not available in this console yet`);
  const transport = choice.create();
  ended = false;
  banners.clear();
  setPhase('connecting', 'connecting…');
  timeline.restart(`connecting over ${choice.label}`);
  client = new PipecatClient({
    transport: tapMessages(transport, {
      received,
      sent: (message) => timeline.add('out', message.type, message.data),
    }),
    enableMic: !muted,
    enableCam: false,
    callbacks: {
      onBotReady: (data) => {
        setPhase('connected', muted ? 'connected — microphone muted' : 'listening — say something');
        const about = (data as { about?: { session_id?: unknown } }).about;
        if (typeof about?.session_id === 'string') showSession(about.session_id);
        const local = client?.tracks().local.audio;
        if (local) meter.attach(local);
      },
      onDisconnected,
      onUserStartedSpeaking: () => {
        if (phase === 'connected') status.textContent = 'hearing you…';
      },
      onUserStoppedSpeaking: () => {
        if (phase === 'connected') status.textContent = 'thinking…';
      },
      onUserTranscript: (d: TranscriptData) => {
        if (d.final) transcript.userFinal(d.text);
        else transcript.userInterim(d.text);
      },
      onBotLlmStarted: () => transcript.botReplyStarted(),
      onBotTtsText: (d: { text: string }) => transcript.botText(d.text),
      onBotOutput: (d) => {
        if (d.spoken === false && !d.will_be_spoken) transcript.botText(d.text);
      },
      onBotStartedSpeaking: () => {
        status.textContent = 'speaking (talk over me to interrupt)';
      },
      onBotStoppedSpeaking: () => {
        if (phase === 'connected') status.textContent = 'listening';
      },
      onLLMFunctionCallInProgress: (d) => {
        transcript.toolCall(d.function_name ?? 'tool', d.arguments);
        if (d.tool_call_id) waterfall.toolStarted(d.tool_call_id);
      },
      onLLMFunctionCallStopped: (d) => {
        if (d.tool_call_id) waterfall.toolStopped(d.tool_call_id);
      },
      onServerMessage,
      onMetrics: (m) => waterfall.onMetrics(m as unknown as Record<string, unknown>),
      onError: (message: RTVIMessage) => {
        const fatal = (message.data as { fatal?: unknown } | undefined)?.fatal === true;
        if (fatal) reportFatal(errorText(message.data));
        else reportError(errorText(message.data));
      },
      onMessageError: (message: RTVIMessage) =>
        banners.show('error', `The server refused a message: ${errorText(message.data)}`),
      onDeviceError: (e) => banners.show('error', `Microphone problem: ${errorText(e)}`),
      onTrackStarted: (track, participant) => {
        if (track.kind !== 'audio') return;
        if (participant?.local) meter.attach(track);
        else if (choice.playsRemoteTrack) playRemote(track);
      },
      onMicUpdated: (mic) => mics.select(mic.deviceId),
    },
  });
  await client.initDevices();
  if (muted) client.enableMic(false);
  await mics.refresh(() => client?.getAllMics() ?? Promise.resolve([]));
  if (mics.preferred) await client.updateMic(mics.preferred);
  const resuming = resumeHandle;
  resumeHandle = undefined; // used once: a refused handle leaves the next Talk a new session
  await client.startBotAndConnect({
    endpoint: `${location.origin}/connect`,
    requestData: { ...choice.requestData, ...(resuming ? { resume_handle: resuming } : {}) },
    headers: new Headers(authHeaders()),
  });
}

talk.addEventListener('click', () => {
  if ((client || liveKit) && phase !== 'idle') {
    setPhase('ending', 'disconnecting…');
    void (client ?? liveKit)?.disconnect();
    return;
  }
  start().catch((err) => {
    reportError(errorText(err));
    const c = client ?? liveKit;
    client = undefined;
    liveKit = undefined;
    void c?.disconnect().catch(() => {});
    setPhase('idle', 'not connected');
  });
});

muteButton.addEventListener('click', () => {
  muted = !muted;
  meter.muted = muted;
  muteButton.setAttribute('aria-pressed', String(muted));
  muteButton.textContent = muted ? 'Unmute' : 'Mute';
  client?.enableMic(!muted);
  void liveKit?.setMuted(muted);
  if (phase === 'connected') status.textContent = muted ? 'microphone muted' : 'listening';
});

textForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = textInput.value.trim();
  if (!text) return;
  const connection = client ?? liveKit;
  if (!connection || phase !== 'connected') {
    banners.show('notice', 'Connect first, then type a message.');
    return;
  }
  transcript.userTyped(text);
  textInput.value = '';
  connection.sendText(text).catch((err) => reportError(`Could not send the message: ${errorText(err)}`));
});

async function loadInfo(): Promise<void> {
  const res = await fetch('/playground/info.json', { headers: authHeaders() });
  if (res.status === 401) {
    banners.show('notice', 'This server needs a token: open the page as /?token=YOUR_TOKEN.');
    return;
  }
  if (!res.ok) return;
  const info = (await res.json()) as {
    transports?: Partial<Record<TransportKind, boolean>>;
    phrases?: unknown;
  };
  for (const option of Array.from(transportSelect.options)) {
    if (!isTransportKind(option.value)) continue;
    const usable = info.transports?.[option.value] === true;
    option.disabled = !usable;
    option.textContent = usable
      ? TRANSPORTS[option.value].label
      : `${TRANSPORTS[option.value].label} (not offered by this server)`;
  }
  if (Array.isArray(info.phrases)) {
    showHints(
      byId('hints'),
      info.phrases.filter((p): p is string => typeof p === 'string'),
      (phrase) => {
        textInput.value = phrase;
        textInput.focus();
      },
    );
  }
}

setPhase('idle', 'idle');
void mics.refresh(
  async () =>
    (await navigator.mediaDevices?.enumerateDevices?.().catch(() => []))?.filter(
      (d) => d.kind === 'audioinput',
    ) ?? [],
);
loadInfo().catch(() => {});
