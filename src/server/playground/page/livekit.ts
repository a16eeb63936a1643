/**
 * The console over LiveKit: the real `livekit-client` `Room`, joined with the details
 * `POST /livekit/connection-details` hands out. What a LiveKit agent shows a page becomes the
 * console's views: the agent's state attribute (`lk.agent.state`) drives the status line, the
 * `lk.transcription` text streams the live transcript (the user's interim and final text, the
 * agent's words as spoken), data packets the client events; every room event goes to the timeline.
 * Typed text goes as `lk.chat`. The session id is the agent's `colloquy.session_id` attribute.
 * Colloquy's `colloquy.events` data (each turn's latency, interruptions, tool calls, speech that was
 * not recognised, errors) feed the latency waterfall, the transcript's marks and the error banners,
 * as RTVI's messages do over the other transports.
 */
import {
  type Participant,
  type RemoteTrack,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from 'livekit-client';
import type { MicMeter } from './mic-meter.ts';
import type { Timeline } from './timeline.ts';
import type { TranscriptView } from './transcript.ts';
import type { LatencyWaterfall } from './waterfall.ts';

const AGENT_STATE = 'lk.agent.state';
const SESSION_ID = 'colloquy.session_id';
const EVENTS_TOPIC = 'colloquy.events';
const STATUS: Record<string, string> = {
  listening: 'listening',
  thinking: 'thinking…',
  speaking: 'speaking (talk over me to interrupt)',
};

export interface LiveKitView {
  transcript: TranscriptView;
  timeline: Timeline;
  meter: MicMeter;
  waterfall: LatencyWaterfall;
  status(text: string): void;
  showSession(id: string): void;
  playRemote(track: MediaStreamTrack): void;
  reportError(message: string): void;
  /** A step of the agent's pipeline failed (`component`: stt, tts, llm, …). */
  pipelineError(component: string, message: string): void;
  speechUnrecognized(): void;
  onDisconnected(): void;
}

export interface LiveKitConnection {
  disconnect(): Promise<void>;
  setMuted(muted: boolean): Promise<void>;
  switchMic(deviceId: string): Promise<void>;
  sendText(text: string): Promise<void>;
  mics(): Promise<MediaDeviceInfo[]>;
}

interface ConnectionDetails {
  serverUrl: string;
  participantToken: string;
}

async function connectionDetails(headers: Record<string, string>): Promise<ConnectionDetails> {
  const res = await fetch('/livekit/connection-details', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
  const body = (await res.json().catch(() => ({}))) as Partial<ConnectionDetails> & { info?: unknown };
  if (!res.ok)
    throw new Error(typeof body.info === 'string' ? body.info : `the server answered ${res.status}`);
  if (typeof body.serverUrl !== 'string' || typeof body.participantToken !== 'string')
    throw new Error('the server gave no connection details');
  return { serverUrl: body.serverUrl, participantToken: body.participantToken };
}

/** Joins a room with the server's agent; resolves once connected (the microphone as asked). */
export async function connectLiveKit(
  view: LiveKitView,
  options: { headers: Record<string, string>; muted: boolean; deviceId: string },
): Promise<LiveKitConnection> {
  const details = await connectionDetails(options.headers);
  const room = new Room(
    options.deviceId ? { audioCaptureDefaults: { deviceId: options.deviceId } } : undefined,
  );
  const agentChanged = (p: Participant) => {
    const state = p.attributes[AGENT_STATE];
    if (state) view.status(STATUS[state] ?? state);
    const id = p.attributes[SESSION_ID];
    if (id) view.showSession(id);
  };
  room
    .on(RoomEvent.ParticipantConnected, (p) => {
      view.timeline.add('in', 'participant-connected', { identity: p.identity, attributes: p.attributes });
      agentChanged(p);
    })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, p) => {
      if (p.isLocal) return;
      view.timeline.add('in', 'attributes-changed', changed);
      agentChanged(p);
    })
    .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
      view.timeline.add('in', 'track-subscribed', { kind: track.kind });
      if (track.kind === Track.Kind.Audio && track.mediaStreamTrack) view.playRemote(track.mediaStreamTrack);
    })
    .on(RoomEvent.LocalTrackPublished, (pub) => {
      view.timeline.add('out', 'track-published', { kind: pub.kind, source: pub.source });
      if (pub.track?.mediaStreamTrack && pub.kind === Track.Kind.Audio)
        view.meter.attach(pub.track.mediaStreamTrack);
    })
    .on(RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
      const text = new TextDecoder().decode(payload);
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        // not JSON: shown as text
      }
      view.timeline.add('in', `data ${topic ?? ''}`.trim(), data);
      if (topic === EVENTS_TOPIC) colloquyEvent(view, data);
      else if (topic) view.transcript.clientEvent(topic, data);
    })
    .on(RoomEvent.Reconnecting, () => view.status('reconnecting…'))
    .on(RoomEvent.Reconnected, () => view.status('listening'))
    .on(RoomEvent.MediaDevicesError, (err) => view.reportError(`Microphone problem: ${err.message}`))
    .on(RoomEvent.Disconnected, (reason) => {
      view.timeline.add('in', 'disconnected', { reason });
      view.onDisconnected();
    });
  room.registerTextStreamHandler('lk.transcription', (reader, from) => {
    void readTranscription(view, reader, from.identity === room.localParticipant.identity);
  });

  await room.connect(details.serverUrl, details.participantToken);
  view.timeline.add('in', 'connected', { room: room.name });
  for (const p of room.remoteParticipants.values()) agentChanged(p);
  await room.localParticipant.setMicrophoneEnabled(!options.muted);
  return {
    disconnect: () => room.disconnect(),
    setMuted: async (muted) => {
      await room.localParticipant.setMicrophoneEnabled(!muted);
    },
    switchMic: async (deviceId) => {
      await room.switchActiveDevice('audioinput', deviceId || 'default');
    },
    sendText: async (text) => {
      view.timeline.add('out', 'lk.chat', { text });
      await room.localParticipant.sendText(text, { topic: 'lk.chat' });
    },
    mics: () => Room.getLocalDevices('audioinput'),
  };
}

/** One transcription stream: the user's interim or final text, or the agent's words as spoken. */
async function readTranscription(
  view: LiveKitView,
  reader: TextStreamReader,
  fromUser: boolean,
): Promise<void> {
  const final = reader.info.attributes?.['lk.transcription_final'] === 'true';
  if (!fromUser) view.transcript.botReplyStarted();
  let text = '';
  for await (const chunk of reader) {
    text += chunk;
    if (!fromUser) view.transcript.botText(chunk.trim());
  }
  view.timeline.add('in', 'lk.transcription', { from: fromUser ? 'user' : 'agent', text, final });
  if (!fromUser) return;
  if (final) view.transcript.userFinal(text);
  else view.transcript.userInterim(text);
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** One `colloquy.events` message → the waterfall, the transcript's marks or a banner. */
function colloquyEvent(view: LiveKitView, data: unknown): void {
  if (!data || typeof data !== 'object') return;
  const e = data as Record<string, unknown>;
  switch (e.type) {
    case 'turn-latency': {
      const s = (e.segments ?? {}) as Record<string, unknown>;
      view.waterfall.onMetrics({
        stt_latency_ms: num(s.sttMs),
        llm_ttfb_ms: num(s.llmProcessingMs),
        tts_ttfb_ms: num(s.ttsMs),
        total_latency_ms: num(s.totalE2EMs),
      });
      return;
    }
    case 'tool-call':
      if (typeof e.toolCallId === 'string') view.waterfall.toolStarted(e.toolCallId);
      view.transcript.toolCall(typeof e.name === 'string' ? e.name : 'tool', e.args);
      return;
    case 'tool-result':
      if (typeof e.toolCallId === 'string') view.waterfall.toolStopped(e.toolCallId);
      return;
    case 'turn-interrupted':
      view.transcript.botInterrupted();
      return;
    case 'speech-unrecognized':
      view.speechUnrecognized();
      return;
    case 'error':
      if (typeof e.message === 'string')
        view.pipelineError(typeof e.component === 'string' ? e.component : '', e.message);
      return;
  }
}
