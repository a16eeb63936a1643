/**
 * The Colloquy voice widget: one `<script>` tag adds a call button that starts a LiveKit
 * conversation with the agent of a Colloquy server, shows the agent's state and the live
 * transcript, and has mute and hang-up. The underlying `livekit-client` `Room` is exposed at
 * `window.__ColloquyWidget.room` for page code (e.g. `room.on(RoomEvent.DataReceived, …)`).
 *
 *   <script src="https://agent.example.com/livekit/widget.js"
 *           data-config="support" data-position="bottom-right" data-color="#4f46e5" defer></script>
 *
 * Attributes: `data-server` (the Colloquy server; default: where the script came from),
 * `data-config`, `data-agent`, `data-token` (Bearer token when the server asks for one),
 * `data-position` (`bottom-right` | `bottom-left`), `data-color` (accent), `data-text-color`,
 * `data-label` (the button's text).
 */
import { type RemoteTrack, Room, RoomEvent, type TextStreamReader, Track } from 'livekit-client';

export interface WidgetOptions {
  server: string;
  config?: string;
  agent?: string;
  token?: string;
  position: 'bottom-right' | 'bottom-left';
  color: string;
  textColor: string;
  label: string;
}

export type WidgetState = 'idle' | 'connecting' | 'connected' | 'ended' | 'error';

export interface ColloquyWidget {
  readonly room: Room | undefined;
  readonly state: WidgetState;
  start(): Promise<void>;
  stop(): Promise<void>;
}

declare global {
  interface Window {
    __ColloquyWidget?: ColloquyWidget;
  }
}

const AGENT_STATE_LABEL: Record<string, string> = {
  initializing: 'Connecting…',
  listening: 'Listening',
  thinking: 'Thinking…',
  speaking: 'Speaking',
};

const COLOR = /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\([0-9.,\s%]{5,40}\))$/;

export function readOptions(script: HTMLScriptElement | null): WidgetOptions {
  const data = script?.dataset ?? {};
  const fromSrc = script?.src ? new URL(script.src, location.href).origin : location.origin;
  const color = (value: string | undefined, fallback: string) =>
    value && COLOR.test(value) ? value : fallback;
  return {
    server: (data.server || fromSrc).replace(/\/+$/, ''),
    ...(data.config ? { config: data.config } : {}),
    ...(data.agent ? { agent: data.agent } : {}),
    ...(data.token ? { token: data.token } : {}),
    position: data.position === 'bottom-left' ? 'bottom-left' : 'bottom-right',
    color: color(data.color, '#4f46e5'),
    textColor: color(data.textColor, '#ffffff'),
    label: (data.label || 'Talk to us').slice(0, 40),
  };
}

function styles(o: WidgetOptions): string {
  const side = o.position === 'bottom-left' ? 'left' : 'right';
  return `
:host { all: initial; }
.root { position: fixed; bottom: 16px; ${side}: 16px; z-index: 2147483000; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; display: flex; flex-direction: column; align-items: ${side === 'right' ? 'flex-end' : 'flex-start'}; gap: 10px; }
button { font: inherit; cursor: pointer; border: 0; border-radius: 999px; min-height: 44px; padding: 0 18px; display: inline-flex; align-items: center; gap: 8px; }
button[hidden] { display: none; }
button:focus-visible { outline: 3px solid ${o.color}; outline-offset: 3px; }
.call { background: ${o.color}; color: ${o.textColor}; box-shadow: 0 6px 20px rgba(0,0,0,.2); font-weight: 600; }
.call[disabled] { opacity: .7; cursor: progress; }
.panel { width: min(360px, calc(100vw - 32px)); max-height: min(480px, calc(100vh - 100px)); background: #fff; border-radius: 16px; box-shadow: 0 10px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; }
.panel[hidden] { display: none; }
.head { display: flex; align-items: center; gap: 10px; padding: 12px 14px; background: ${o.color}; color: ${o.textColor}; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: currentColor; opacity: .6; }
.head[data-state="speaking"] .dot { opacity: 1; animation: pulse 1s infinite; }
.head[data-state="thinking"] .dot { opacity: 1; animation: pulse .5s infinite; }
@keyframes pulse { 50% { transform: scale(1.5); } }
@media (prefers-reduced-motion: reduce) { .dot { animation: none !important; } }
.status { font-weight: 600; flex: 1; }
.log { list-style: none; margin: 0; padding: 12px 14px; overflow-y: auto; flex: 1; min-height: 120px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; background: #f3f4f6; align-self: flex-start; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: ${o.color}; color: ${o.textColor}; }
.msg.interim { opacity: .65; }
.empty { color: #6b7280; }
.bar { display: flex; gap: 8px; padding: 10px 14px; border-top: 1px solid #e5e7eb; }
.mute { background: #f3f4f6; color: #111827; flex: 1; justify-content: center; }
.mute[aria-pressed="true"] { background: #fde68a; }
.hang { background: #dc2626; color: #fff; flex: 1; justify-content: center; }
.error { color: #b91c1c; padding: 0 14px 10px; margin: 0; }
`;
}

export function mountWidget(options: WidgetOptions, host: HTMLElement = document.body): ColloquyWidget {
  const container = document.createElement('div');
  container.setAttribute('data-colloquy-widget', '');
  const shadow = container.attachShadow({ mode: 'open' });
  shadow.innerHTML = `<style>${styles(options)}</style>
<div class="root">
  <section class="panel" role="dialog" aria-label="Voice conversation" hidden>
    <div class="head" data-state="initializing"><span class="dot" aria-hidden="true"></span><span class="status" role="status" aria-live="polite">Connecting…</span></div>
    <ol class="log" aria-label="Transcript" aria-live="polite"><li class="empty">Say hello when you are ready.</li></ol>
    <p class="error" role="alert" hidden></p>
    <div class="bar">
      <button type="button" class="mute" aria-pressed="false">Mute</button>
      <button type="button" class="hang" aria-label="End the call">Hang up</button>
    </div>
  </section>
  <button type="button" class="call" aria-label="Start a voice call">${escapeHtml(options.label)}</button>
</div>`;
  host.appendChild(container);
  const $ = <T extends Element>(selector: string) => shadow.querySelector(selector) as T;
  const panel = $<HTMLElement>('.panel');
  const head = $<HTMLElement>('.head');
  const status = $<HTMLElement>('.status');
  const log = $<HTMLOListElement>('.log');
  const errorLine = $<HTMLParagraphElement>('.error');
  const callButton = $<HTMLButtonElement>('.call');
  const muteButton = $<HTMLButtonElement>('.mute');
  const hangButton = $<HTMLButtonElement>('.hang');

  let room: Room | undefined;
  let state: WidgetState = 'idle';
  const audio: HTMLMediaElement[] = [];
  /** Transcript lines by segment id (interims are replaced by their final). */
  const lines = new Map<string, HTMLLIElement>();

  const setState = (next: WidgetState) => {
    state = next;
    callButton.hidden = next === 'connecting' || next === 'connected';
    callButton.disabled = next === 'connecting';
    panel.hidden = next === 'idle';
  };
  const setAgentState = (agentState: string) => {
    head.dataset.state = agentState;
    status.textContent = AGENT_STATE_LABEL[agentState] ?? agentState;
  };
  const showError = (message: string) => {
    errorLine.textContent = message;
    errorLine.hidden = false;
  };

  const addLine = (segment: string, who: 'user' | 'agent', text: string, final: boolean) => {
    shadow.querySelector('.empty')?.remove();
    let line = lines.get(segment);
    if (!line) {
      line = document.createElement('li');
      line.className = `msg ${who}`;
      line.setAttribute('aria-label', who === 'user' ? 'You' : 'Agent');
      lines.set(segment, line);
      log.appendChild(line);
    }
    line.textContent = text;
    line.classList.toggle('interim', !final);
    log.scrollTop = log.scrollHeight;
  };

  const readTranscript = async (reader: TextStreamReader, from: { identity: string }) => {
    const attrs = reader.info.attributes ?? {};
    const segment = attrs['lk.segment_id'] ?? reader.info.id;
    const who = from.identity === room?.localParticipant.identity ? 'user' : 'agent';
    let text = '';
    for await (const chunk of reader) {
      text += chunk;
      addLine(segment, who, text, false);
    }
    addLine(segment, who, text, who === 'agent' || attrs['lk.transcription_final'] === 'true');
  };

  async function start(): Promise<void> {
    if (state === 'connecting' || state === 'connected') return;
    errorLine.hidden = true;
    setState('connecting');
    setAgentState('initializing');
    try {
      const res = await fetch(`${options.server}/livekit/connection-details`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: JSON.stringify({
          ...(options.config ? { config: options.config } : {}),
          ...(options.agent ? { agent: options.agent } : {}),
        }),
      });
      if (!res.ok) throw new Error(`The agent is not available (${res.status})`);
      const details = (await res.json()) as { serverUrl: string; participantToken: string };
      const next = new Room();
      room = next;
      next
        .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
          if (track.kind !== Track.Kind.Audio) return;
          const element = track.attach();
          element.setAttribute('aria-hidden', 'true');
          audio.push(element);
          shadow.appendChild(element);
        })
        .on(RoomEvent.ParticipantAttributesChanged, (_changed, participant) => {
          const agentState = participant.attributes['lk.agent.state'];
          if (participant.isAgent && agentState) setAgentState(agentState);
        })
        .on(RoomEvent.Disconnected, () => {
          if (room === next) end('ended');
        });
      next.registerTextStreamHandler('lk.transcription', (reader, from) => {
        void readTranscript(reader, from);
      });
      await next.connect(details.serverUrl, details.participantToken);
      for (const p of next.remoteParticipants.values()) {
        const agentState = p.attributes['lk.agent.state'];
        if (p.isAgent && agentState) setAgentState(agentState);
      }
      setState('connected');
      hangButton.focus();
      await next.localParticipant.setMicrophoneEnabled(true);
    } catch (err) {
      end('error');
      showError(err instanceof Error ? err.message : String(err));
    }
  }

  function end(next: WidgetState): void {
    const current = room;
    room = undefined;
    for (const element of audio.splice(0)) element.remove();
    muteButton.setAttribute('aria-pressed', 'false');
    muteButton.textContent = 'Mute';
    setState(next === 'error' ? 'error' : 'idle');
    if (next === 'error') panel.hidden = false;
    if (current) void current.disconnect();
    callButton.focus();
  }

  async function stop(): Promise<void> {
    end('ended');
  }

  callButton.addEventListener('click', () => void start());
  hangButton.addEventListener('click', () => void stop());
  muteButton.addEventListener('click', async () => {
    if (!room) return;
    const muted = muteButton.getAttribute('aria-pressed') !== 'true';
    await room.localParticipant.setMicrophoneEnabled(!muted);
    muteButton.setAttribute('aria-pressed', String(muted));
    muteButton.textContent = muted ? 'Unmute' : 'Mute';
  });
  shadow.addEventListener('keydown', (event) => {
    if ((event as KeyboardEvent).key === 'Escape' && state === 'connected') void stop();
  });

  return {
    get room() {
      return room;
    },
    get state() {
      return state;
    },
    start,
    stop,
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
