/**
 * The agent's current WebSocket (accepted with `handleSocket`, or dialled with `connect`): the native
 * projection sends bus events out, client messages are dispatched to the agent, binary PCM goes to
 * `PcmInput`. At most one socket at a time; a new one replaces the old (which ends `disconnected`).
 */
import WebSocket from 'ws';
import { assertNever, type ColloquyError, TransportError, toColloquyError } from '../../errors.ts';
import type { ClientTiming } from '../../session/client-clock.ts';
import { ClientClock } from '../../session/client-clock.ts';
import {
  type ClientMessage,
  PROTOCOL_VERSION,
  type ProtocolLimits,
  protocolError,
  SUPPORTED_PCM_SAMPLE_RATES,
} from '../native-protocol/client-messages.ts';
import { NativeProjection } from '../native-protocol/native-projection.ts';
import type { ServerMessage, ServerMessageOf } from '../native-protocol/server-messages.ts';
import { SocketLink } from '../native-protocol/socket-link.ts';
import { ConnectionClosedError } from './errors.ts';
import { PcmInput } from './pcm-input.ts';
import type { VoiceAgent } from './voice-agent.ts';

interface Current {
  link: SocketLink;
  projection: NativeProjection;
  controller: AbortController;
  /** The client's timestamps on this socket, for `clientToBackendMs`. */
  clock: ClientClock;
}

export class AgentLink {
  private current: Current | undefined;
  private readonly pcm: PcmInput;
  /** The signal while no socket is attached (never aborted; created when first asked for). */
  private idle: AbortController | undefined;

  constructor(
    private readonly agent: VoiceAgent,
    private readonly limits: ProtocolLimits,
    maxAudioBytes: number,
  ) {
    this.pcm = new PcmInput(
      { pushAudio: (pcm, sampleRate) => agent.session.pushAudio(pcm, sampleRate) },
      limits,
      maxAudioBytes,
    );
  }

  get connected(): boolean {
    return this.current?.link.open ?? false;
  }

  /** Aborted when the current socket closes (in-flight transcriptions of its inputs stop). */
  get signal(): AbortSignal {
    if (this.current !== undefined) return this.current.controller.signal;
    if (this.idle === undefined) this.idle = new AbortController();
    return this.idle.signal;
  }

  async connect(url: string): Promise<void> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const onOpen = (): void => {
        socket.off('error', onError);
        // Attach now, inside `open`: a message that arrived with the upgrade is emitted right after
        // this handler, before any awaiting code could run.
        this.attach(socket);
        resolve();
      };
      const onError = (err: Error): void => {
        socket.off('open', onOpen);
        reject(
          new TransportError('connect_failed', `Could not connect to ${url}: ${err.message}`, { cause: err }),
        );
      };
      socket.once('open', onOpen);
      socket.once('error', onError);
    });
  }

  attach(socket: WebSocket): void {
    this.close();
    const agent = this.agent;
    const current: Current = {
      controller: new AbortController(),
      clock: new ClientClock(),
      link: undefined as unknown as SocketLink,
      projection: undefined as unknown as NativeProjection,
    };
    current.link = new SocketLink(
      socket,
      {
        onMessage: (message, receivedAt) => this.dispatch(message, this.timing(current, message, receivedAt)),
        onBinary: (data) => this.binary(data),
        onInvalid: (error) => agent.rejectInput(error),
        onClose: () => this.closed(current),
        onError: (error) => this.socketError(error),
        onRoundTrip: (ms) => current.clock.roundTrip(ms),
      },
      { limits: this.limits },
    );
    current.projection = new NativeProjection(agent.bus, {
      send: (message, onWritten) => current.link.send(message, onWritten),
      sessionInit: () => this.sessionInitMessage(),
      responseExtras: () => agent.responseExtras(),
      reasonFor: (reason) => agent.reasonFor(reason),
      channels: agent.session.clientChannels,
    });
    this.current = current;
    // The round trip bounds the skew of the client's clock (see `ClientClock`).
    current.link.measureRoundTrip();
    agent.bus.publish('transport.connected', { sessionId: agent.session.sessionId, transport: 'websocket' });
    agent.onAttached();
  }

  sessionInitMessage(): ServerMessageOf<'session_init'> {
    const init = this.agent.sessionInit();
    return {
      type: 'session_init',
      sessionId: init.sessionId,
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {
        binaryAudio: this.agent.takesStreamedAudio,
        serverVad: this.agent.takesStreamedAudio,
        video: init.video,
        pcmSampleRates: SUPPORTED_PCM_SAMPLE_RATES,
      },
    };
  }

  send(message: ServerMessage): void {
    this.current?.link.send(message);
  }

  close(): void {
    this.current?.link.close(1000, 'disconnect');
  }

  private closed(current: Current): void {
    if (this.current !== current) return;
    this.current = undefined;
    current.projection.dispose();
    const error = new ConnectionClosedError();
    current.controller.abort(error);
    this.pcm.reset();
    this.agent.connectionClosed(error);
  }

  private socketError(error: ColloquyError): void {
    this.agent.bus.publish('error', {
      sessionId: this.agent.session.sessionId,
      component: 'transport',
      error,
      severity: 'warn',
    });
  }

  /** The client timing of a stamped input (`timestamp`); a new round trip is measured for the next one. */
  private timing(current: Current, message: ClientMessage, receivedAt: number): ClientTiming | undefined {
    if (!('timestamp' in message) || message.type === 'video_frame' || message.timestamp === undefined)
      return;
    const timing = current.clock.transit(message.timestamp, receivedAt);
    current.link.measureRoundTrip();
    return timing;
  }

  private dispatch(message: ClientMessage, timing: ClientTiming | undefined): void {
    const agent = this.agent;
    switch (message.type) {
      case 'transcript':
        agent.clientTranscript(message.text, timing);
        return;
      case 'audio':
        agent.clientRecording(Buffer.from(message.data, 'base64'), 'audio', timing);
        return;
      case 'interrupt':
        agent.clientInterrupt(message.reason);
        return;
      case 'client_ready':
        agent.clientReady(message.capabilities);
        return;
      case 'video_frame':
        agent.clientFrame(message);
        return;
      case 'audio_config': {
        if (!agent.takesStreamedAudio) {
          agent.rejectInput(
            protocolError(
              'no_transcription_model',
              'Streamed audio needs a transcriptionModel',
              'audio_config',
            ),
          );
          return;
        }
        // A realtime model hears the stream itself and finds the turns (its own detection, or the
        // server's VAD): audio always streams to it; `audio_commit` ends the turn early.
        const config = agent.onRealtimeModel ? { ...message, vad: true } : message;
        this.pcm.configure(config);
        this.send({
          type: 'audio_config_ack',
          sampleRate: config.sampleRate,
          channels: config.channels,
          encoding: config.encoding,
          vad: config.vad,
        });
        return;
      }
      case 'audio_commit': {
        try {
          const wav = this.pcm.commit();
          if (wav) agent.clientRecording(wav, 'audio_commit', timing);
          // With server VAD, the commit ends the turn in progress at once.
          else if (this.pcm.vadEnabled) void agent.session.commitAudioTurn();
        } catch (error) {
          agent.rejectInput(toColloquyError(error));
        }
        return;
      }
      case 'resume':
        // Only the first message of a new socket can resume (`AgentResume.accept`).
        agent.rejectInput(
          protocolError(
            'unsupported_message',
            'Send "resume" as the first message of a new socket',
            'resume',
          ),
        );
        return;
      case 'subagent_ui_response': {
        const { type: _type, ...response } = message;
        agent.clientSubagentAnswer(response);
        return;
      }
      default:
        assertNever(message, 'client message');
    }
  }

  private binary(data: Uint8Array): void {
    try {
      this.pcm.push(data);
    } catch (error) {
      this.agent.rejectInput(toColloquyError(error, 'invalid_audio_frame'), 'binary');
    }
  }
}
