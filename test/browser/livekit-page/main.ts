/**
 * Test page for LiveKit rooms: the real `livekit-client` `Room`, connected with the details
 * `POST /livekit/connection-details` returns. Room events, data packets, text streams and agent
 * attributes are recorded into `window.__lk.events`; the agent's audio is played and measured.
 */
import {
  type Participant,
  type RemoteTrack,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from 'livekit-client';
import { playRemote, remoteAudio } from '../page/remote-audio.ts';
import type { RemoteAudioStats } from '../page/types.ts';

export interface LkEvent {
  name: string;
  data: any;
  t: number;
}

export interface ConnectionDetails {
  serverUrl: string;
  roomName: string;
  participantName: string;
  participantToken: string;
}

declare global {
  interface Window {
    __lk: {
      events: LkEvent[];
      room: Room | undefined;
      connect(
        details: ConnectionDetails,
        options?: { mic?: boolean },
      ): Promise<{ ok: boolean; error?: string }>;
      fetchDetails(url: string, body?: unknown, headers?: Record<string, string>): Promise<ConnectionDetails>;
      remoteAudio(): RemoteAudioStats;
      sendChat(text: string): Promise<void>;
      publish(text: string, topic: string): Promise<void>;
      publishRaw(bytes: number[], topic: string): Promise<void>;
      installSeedSnippet(): void;
      dropSignal(): boolean;
      /** `Room.simulateScenario` (e.g. `full-reconnect`: the client rejoins from scratch). */
      simulate(scenario: 'full-reconnect' | 'signal-reconnect'): Promise<void>;
      disconnect(): Promise<void>;
    };
  }
}

const started = performance.now();
const events: LkEvent[] = [];
const record = (name: string, data: unknown = null) =>
  events.push({ name, data, t: Math.round(performance.now() - started) });

async function readTranscription(reader: TextStreamReader, from: { identity: string }): Promise<void> {
  const info = reader.info;
  const text = await reader.readAll();
  record('transcription', { identity: from.identity, text, attributes: info.attributes, topic: info.topic });
}

window.__lk = {
  events,
  room: undefined,
  async fetchDetails(url, body = {}, headers = {}) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`connection-details answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as ConnectionDetails;
  },
  async connect(details, options = {}) {
    const room = new Room();
    window.__lk.room = room;
    room
      .on(RoomEvent.Connected, () => record('connected'))
      .on(RoomEvent.Disconnected, (reason) => record('disconnected', { reason }))
      .on(RoomEvent.Reconnecting, () => record('reconnecting'))
      .on(RoomEvent.Reconnected, () => record('reconnected'))
      .on(RoomEvent.SignalReconnecting, () => record('signalReconnecting'))
      .on(RoomEvent.ParticipantConnected, (p) => record('participantConnected', describe(p)))
      .on(RoomEvent.ParticipantAttributesChanged, (changed, p) =>
        record('attributesChanged', { changed, identity: p.identity, attributes: { ...p.attributes } }),
      )
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub, p) => {
        record('trackSubscribed', {
          kind: track.kind,
          source: pub.source,
          sid: pub.trackSid,
          identity: p.identity,
        });
        if (track.kind === Track.Kind.Audio && track.mediaStreamTrack) playRemote(track.mediaStreamTrack);
      })
      .on(RoomEvent.LocalTrackPublished, (pub) =>
        record('localTrackPublished', { sid: pub.trackSid, source: pub.source, kind: pub.kind }),
      )
      .on(RoomEvent.DataReceived, (payload, participant, kind, topic) =>
        record('data', {
          text: new TextDecoder().decode(payload),
          identity: participant?.identity,
          kind,
          topic,
        }),
      );
    room.registerTextStreamHandler('lk.transcription', (reader, from) => {
      void readTranscription(reader, from);
    });
    try {
      await room.connect(details.serverUrl, details.participantToken);
      for (const p of room.remoteParticipants.values()) record('remoteParticipant', describe(p));
      if (options.mic !== false) await room.localParticipant.setMicrophoneEnabled(true);
      return { ok: true };
    } catch (err) {
      record('connectError', { message: (err as Error).message });
      return { ok: false, error: (err as Error).message };
    }
  },
  remoteAudio: () => ({ ...remoteAudio }),
  async sendChat(text) {
    await window.__lk.room!.localParticipant.sendText(text, { topic: 'lk.chat' });
  },
  async publish(text, topic) {
    await window.__lk.room!.localParticipant.publishData(new TextEncoder().encode(text), {
      topic,
      reliable: true,
    });
  },
  async publishRaw(bytes, topic) {
    await window.__lk.room!.localParticipant.publishData(new Uint8Array(bytes), { topic, reliable: true });
  },
  /** The page code of the client-event documentation, as written there (only `room` comes from here). */
  installSeedSnippet() {
    const room = window.__lk.room!;
    // biome-ignore lint/correctness/noUnusedFunctionParameters: the documented snippet, verbatim
    room.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
      const message = JSON.parse(new TextDecoder().decode(payload));
      if (topic === 'custom.open_pricing') {
        const plan = message.highlight_plan;
        window.location.href = `/pricing${plan ? `?plan=${plan}` : ''}`;
      }
    });
  },
  /** Closes the signalling WebSocket under the client (simulates a network drop). */
  dropSignal() {
    const engine = (window.__lk.room as unknown as { engine: { client: { ws?: { ws?: WebSocket } } } })
      .engine;
    const ws = engine.client.ws?.ws;
    if (!ws) return false;
    ws.close();
    return true;
  },
  async simulate(scenario) {
    await window.__lk.room!.simulateScenario(scenario);
  },
  async disconnect() {
    await window.__lk.room?.disconnect();
  },
};

function describe(p: Participant) {
  return {
    identity: p.identity,
    name: p.name,
    kind: p.kind,
    isAgent: p.isAgent,
    attributes: { ...p.attributes },
    tracks: [...p.trackPublications.values()].map((t) => ({
      sid: t.trackSid,
      source: t.source,
      kind: t.kind,
    })),
  };
}
