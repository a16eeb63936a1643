/**
 * The LiveKit projection: session bus events → what LiveKit's client SDK and agent UI components
 * read from an agent participant.
 *
 * | bus event                                   | LiveKit                                                |
 * |---------------------------------------------|--------------------------------------------------------|
 * | session.start                               | `lk.agent.state` = listening, `colloquy.session_id`    |
 * | llm.start (the user's turn is committed)     | `lk.agent.state` = thinking                            |
 * | bot.speaking.start                          | `lk.agent.state` = speaking                            |
 * | bot.speaking.stop, turn.end, turn.interrupted | `lk.agent.state` = listening (unless still speaking) |
 * | transcription.interim / .final              | `lk.transcription` text stream from the user           |
 * | bot.tts.text … bot.speaking.stop            | `lk.transcription` text stream from the agent          |
 * | client.event                                | reliable data packet on its topic, raw args as JSON    |
 * | gui.update / gui.notification               | reliable data packet on `colloquy.gui`                 |
 * | subagent.ui.send                            | reliable data packet on `colloquy.subagent.ui` (payload) |
 * | speech.interrupted                          | the agent's transcript stream closed                   |
 * | turn.latency, turn.interrupted / speech.interrupted (once per turn), turn.end (abandoned), tool.call, tool.result, error | reliable data packet on `colloquy.events` (below) |
 *
 * `colloquy.events` carries what a console shows besides the transcript, as JSON objects with a
 * `type`: `turn-latency {turnId, kind, segments}`, `turn-interrupted {turnId, reason}`,
 * `speech-unrecognized {turnId}`, `tool-call {toolCallId, name, args}`, `tool-result {toolCallId, name,
 * status, durationMs}` and `error {component, message, severity}` — errors as a client may see
 * them (a provider's as `<component> failed (<code>)`), warnings only a speech provider's; tool
 * arguments over the client limits as `{omitted: true, reason}`.
 */
import type { SessionEventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { clientErrorText, clientToolResult } from '../client-safe.ts';

export type AgentState = 'initializing' | 'listening' | 'thinking' | 'speaking';

export const AGENT_STATE_ATTRIBUTE = 'lk.agent.state';
/** The agent participant's attribute holding the Colloquy session id (its transcript's address). */
export const SESSION_ID_ATTRIBUTE = 'colloquy.session_id';
export const TRANSCRIPTION_TOPIC = 'lk.transcription';
export const GUI_TOPIC = 'colloquy.gui';
/** Subagents' questions (`{type: 'request' | 'cancel', ...}`) and refusals of answers (`{type: 'error'}`). */
export const SUBAGENT_UI_TOPIC = 'colloquy.subagent.ui';
/** The page answers a subagent's question with JSON `{requestId, value | values | declined}` on this topic. */
export const SUBAGENT_UI_RESPONSE_TOPIC = 'colloquy.subagent.ui.response';
/** Latency, interruptions, tool calls and errors, for consoles and dashboards (see the table above). */
export const EVENTS_TOPIC = 'colloquy.events';
/** Components whose warnings a client hears of (a skipped sentence, a lost utterance). */
const WARNING_COMPONENTS: ReadonlySet<string> = new Set(['stt', 'tts']);

export interface TextStreamSink {
  write(text: string): void;
  close(trailerAttributes?: Record<string, string>): void;
}

/** What the projection needs from the room (implemented by the LiveKit transport). */
export interface LiveKitOutlet {
  readonly userIdentity: string;
  readonly agentIdentity: string;
  /** The user's microphone track sid, once published. */
  readonly userTrackSid: string | undefined;
  readonly agentTrackSid: string;
  setAgentAttributes(attributes: Record<string, string>): void;
  /** False when no page can receive it now. */
  publishData(payload: Uint8Array, options: { topic?: string; reliable?: boolean }): boolean;
  openTextStream(topic: string, senderIdentity: string, attributes: Record<string, string>): TextStreamSink;
}

/**
 * A LiveKit room's view of a session: agent state and transcription text streams for the page,
 * plus data messages to it (`publishData`, `publishJson`).
 *
 * @example
 * ```ts
 * import { type LiveKitRoutes, registerLiveKitRoutes } from 'colloquy/livekit';
 * import { loadServerConfig, startServer } from 'colloquy/server';
 *
 * let rooms: LiveKitRoutes | undefined;
 * await startServer({
 *   config: loadServerConfig(),
 *   registerRoutes: (app, context) => {
 *     rooms = registerLiveKitRoutes(app, context);
 *   },
 * });
 * // later, to the page in room 'support-42':
 * const projection = rooms?.session('support-42')?.projection;
 * projection?.publishJson('order.status', { orderId: 'A-17', status: 'shipped' });
 * console.log(projection?.agentState); // 'listening', 'thinking', 'speaking', …
 * ```
 */
export class LiveKitProjection {
  private readonly offs: Array<() => void> = [];
  private state: AgentState = 'initializing';
  private botSpeaking = false;
  private userSegment = 0;
  private agentSegment = 0;
  private agentStream: { sink: TextStreamSink; turnId: string; segmentId: string } | undefined;
  private readonly encoder = new TextEncoder();
  /** The last few interrupted turns (a turn's speech and the turn itself both report it). */
  private readonly interruptedTurns: string[] = [];

  constructor(
    bus: SessionEventBus,
    private readonly outlet: LiveKitOutlet,
  ) {
    const on = <K extends keyof EventMap>(type: K, handler: (payload: EventMap[K]) => void) =>
      this.offs.push(bus.subscribe(type, handler));
    // One update: the agent listens, and says which session it is (the page links its transcript).
    on('session.start', (p) => {
      this.state = 'listening';
      this.outlet.setAgentAttributes({
        [AGENT_STATE_ATTRIBUTE]: 'listening',
        [SESSION_ID_ATTRIBUTE]: p.sessionId,
      });
    });
    // A spoken turn starts when the user begins speaking; the agent thinks once the LLM is asked.
    on('llm.start', () => this.setState('thinking'));
    on('bot.speaking.start', () => {
      this.botSpeaking = true;
      this.setState('speaking');
    });
    on('bot.speaking.stop', () => {
      this.botSpeaking = false;
      this.closeAgentStream(true);
      this.setState('listening');
    });
    on('turn.end', (p) => {
      if (!this.botSpeaking) this.setState('listening');
      if (p.abandoned) this.publishJson(EVENTS_TOPIC, { type: 'speech-unrecognized', turnId: p.turnId });
    });
    // A turn or the speech of a turn (a greeting, say) cut off: one message per turn.
    on('turn.interrupted', (p) => {
      this.closeAgentStream(true);
      if (!this.botSpeaking) this.setState('listening');
      this.interrupted(p.turnId, p.reason);
    });
    on('transcription.interim', (p) => this.userTranscript(p.text, false));
    on('transcription.final', (p) => this.userTranscript(p.text, true));
    on('bot.tts.text', (p) => this.agentTranscript(p.turnId, p.text));
    on('client.event', (p) => this.publishJson(p.topic, p.payload));
    on('gui.update', (p) => this.publishJson(GUI_TOPIC, { type: 'gui.update', data: p.data }));
    on('gui.notification', (p) =>
      this.publishJson(GUI_TOPIC, { type: 'gui.notification', message: p.message }),
    );
    on('subagent.ui.send', (p) => this.publishJson(SUBAGENT_UI_TOPIC, p.payload));
    on('turn.latency', (p) =>
      this.publishJson(EVENTS_TOPIC, {
        type: 'turn-latency',
        turnId: p.turnId,
        kind: p.kind,
        segments: p.segments,
      }),
    );
    on('speech.interrupted', (p) => {
      this.closeAgentStream(true);
      this.interrupted(p.turnId, p.reason);
    });
    on('tool.call', (p) =>
      this.publishJson(EVENTS_TOPIC, {
        type: 'tool-call',
        toolCallId: p.id,
        name: p.name,
        args: clientToolResult('success', p.args),
      }),
    );
    on('tool.result', (p) =>
      this.publishJson(EVENTS_TOPIC, {
        type: 'tool-result',
        toolCallId: p.toolCallId,
        name: p.name ?? null,
        status: p.status,
        durationMs: p.durationMs ?? null,
      }),
    );
    on('error', (p) => {
      if (p.severity === 'warn' && !WARNING_COMPONENTS.has(p.component)) return;
      this.publishJson(EVENTS_TOPIC, {
        type: 'error',
        component: p.component,
        message: clientErrorText(p.component, p.error),
        severity: p.severity,
      });
    });
    on('session.close', () => this.closeAgentStream(true));
  }

  get agentState(): AgentState {
    return this.state;
  }

  /** Application data to the page (`RoomEvent.DataReceived`); false when no page can receive it. */
  publishData(payload: Uint8Array | string, options: { topic?: string; reliable?: boolean } = {}): boolean {
    const bytes = typeof payload === 'string' ? this.encoder.encode(payload) : payload;
    return this.outlet.publishData(bytes, { reliable: true, ...options });
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
    this.closeAgentStream(true);
  }

  private interrupted(turnId: string, reason: string | undefined): void {
    if (this.interruptedTurns.includes(turnId)) return;
    this.interruptedTurns.push(turnId);
    if (this.interruptedTurns.length > 8) this.interruptedTurns.shift();
    this.publishJson(EVENTS_TOPIC, { type: 'turn-interrupted', turnId, reason: reason ?? null });
  }

  private setState(state: AgentState): void {
    if (this.state === state) return;
    this.state = state;
    this.outlet.setAgentAttributes({ [AGENT_STATE_ATTRIBUTE]: state });
  }

  /** JSON to the page on `topic` (reliable); false when it cannot be serialised or no page receives it. */
  publishJson(topic: string, value: unknown): boolean {
    let json: string | undefined;
    try {
      json = JSON.stringify(value ?? {});
    } catch {
      json = undefined;
    }
    return json !== undefined && this.publishData(json, { topic, reliable: true });
  }

  /** One stream per transcript: interims and the final share a segment id. */
  private userTranscript(text: string, final: boolean): void {
    if (!text) return;
    const segmentId = `user-${this.userSegment + 1}`;
    if (final) this.userSegment++;
    const attributes: Record<string, string> = {
      'lk.segment_id': segmentId,
      'lk.transcription_final': String(final),
    };
    const track = this.outlet.userTrackSid;
    if (track) attributes['lk.transcribed_track_id'] = track;
    const sink = this.outlet.openTextStream(TRANSCRIPTION_TOPIC, this.outlet.userIdentity, attributes);
    sink.write(text);
    sink.close();
  }

  /** The agent's words as they are heard, one stream per response, closed when speech stops. */
  private agentTranscript(turnId: string, text: string): void {
    if (!text) return;
    if (this.agentStream && this.agentStream.turnId !== turnId) this.closeAgentStream(true);
    if (!this.agentStream) {
      const segmentId = `agent-${++this.agentSegment}`;
      this.agentStream = {
        turnId,
        segmentId,
        sink: this.outlet.openTextStream(TRANSCRIPTION_TOPIC, this.outlet.agentIdentity, {
          'lk.segment_id': segmentId,
          'lk.transcribed_track_id': this.outlet.agentTrackSid,
          'lk.transcription_final': 'false',
        }),
      };
      this.agentStream.sink.write(text);
      return;
    }
    this.agentStream.sink.write(` ${text}`);
  }

  private closeAgentStream(final: boolean): void {
    const stream = this.agentStream;
    if (!stream) return;
    this.agentStream = undefined;
    stream.sink.close({ 'lk.transcription_final': String(final) });
  }
}
