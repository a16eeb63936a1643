/**
 * One RTVI conversation over any `RtviTransport`: builds the VoiceSession for a profile, projects its
 * bus onto RTVI messages, feeds the client's mic audio in and the bot's audio out, and answers every
 * client message (seed 002). Transport-agnostic: the Pipecat WebSocket and SmallWebRTC transports
 * both plug in here.
 *
 * Lifecycle: `waiting` (for `client-ready`, bounded by `readyTimeoutMs`) → `ready` → `closed`. The
 * session closes on `disconnect-bot` or a client disconnect (`conversation-end {reason:
 * 'client_disconnected'}`), on idle timeout (`{reason: 'idle_timeout'}`), or when the server closes it.
 */

import { randomUUID } from 'node:crypto';
import type { MemoryOptions } from '../agents/memory.ts';
import { TRANSFER_TOOL_NAME } from '../agents/transfer.ts';
import { failureCode, TransportError, toColloquyError } from '../errors.ts';
import { consoleLogger, type Logger } from '../logger.ts';
import type { AudioSink } from '../pipeline/speech-response.ts';
import { ClientChannels } from '../session/client-channels.ts';
import type { CompactionOptions } from '../session/context-compaction.ts';
import { ResumeError, type ResumeHandles } from '../session/resume-handles.ts';
import { SessionSnapshots } from '../session/resume-snapshots.ts';
import type { VoiceSession } from '../session/voice-session.ts';
import { checkSpecificationVersion } from '../specification-version.ts';
import type { StoreWriter } from '../store/store-writer.ts';
import { errorMessage, RTVI_PROTOCOL_VERSION, RtviProjection, rtviMessage } from '../surfaces/rtvi/index.ts';
import { ClientCalls } from './client-calls.ts';
import type { ServerConfig, SessionProfile } from './config.ts';
import { IdleWatch } from './idle-watch.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { MessageBudget } from './message-budget.ts';
import { MicBudget } from './mic-budget.ts';
import { handleClientMessage, type RtviSessionInternals } from './rtvi-client-messages.ts';
import type { RtviTransport } from './rtvi-transport.ts';
import { buildServerSession } from './server-session.ts';
import { ModelCache } from './session-factory.ts';
import type { SessionRegistry } from './session-registry.ts';
import { drainNotice, shutdownNotice } from './session-snapshots.ts';
import { SwitchableTransport } from './switchable-transport.ts';

export interface RtviSessionOptions {
  transport: RtviTransport;
  profile: SessionProfile;
  config: ServerConfig;
  logger?: Logger;
  /** Shared model cache (one per server); a private one by default. */
  models?: ModelCache;
  /** Where the session is listed while live and its transcript kept after it closes. */
  registry?: SessionRegistry;
  /** Long-term memory of the session's user. */
  memory?: MemoryOptions;
  /** Context compaction of the session's history. */
  compaction?: CompactionOptions;
  /** Records the session (transcript, tool calls, state) into the session store. */
  store?: StoreWriter;
  sessionId?: string;
  userId?: string;
  /** How long to wait for `client-ready` before closing (default 30 000 ms). */
  readyTimeoutMs?: number;
  /**
   * Resume: `bot-ready` carries a resume handle; a dropped client has `windowMs` to come back with it
   * (the session waits `detached`), else the session closes. Handles expire after `handleTtlMs`.
   * With `store` and `durable`, the session keeps a resume snapshot in the store, and `close('server_shutdown')`
   * suspends it instead of ending it (see `SERVER_SHUTDOWN`).
   */
  resume?: { handles: ResumeHandles; windowMs: number; handleTtlMs: number; durable?: boolean };
}

export type RtviSessionState = 'waiting' | 'ready' | 'detached' | 'closed';

export interface RtviSession {
  readonly id: string;
  readonly session: VoiceSession;
  readonly state: RtviSessionState;
  /** Resolves with the close reason once the session closed. */
  readonly closed: Promise<string>;
  /** Ends the session: `conversation-end {reason}` to the client, then the transport closes. */
  close(reason: string): Promise<void>;
  /**
   * A resuming client's transport takes over (the old one, if still open, is closed);
   * `session.resume {sessionId, handle}` fires. Throws `ResumeError` (`resume_gone`) once closed.
   */
  attach(transport: RtviTransport, handle: string): void;
}

/**
 * The close reason of a server shutdown. With resume on a durable store, a session closed for it is
 * suspended, not ended: its client gets `server-message {type: 'server-shutdown', data: {session_id,
 * resume_handle, resume_expires_at, reconnect: true}}` (no `conversation-end`), the snapshot stays,
 * and the stored session waits `detached` for a restarted server to pick it up.
 */
export const SERVER_SHUTDOWN = 'server_shutdown';

/**
 * The close reason at the end of a drain (a node leaving the pool). Like a shutdown the session is
 * suspended when it can be resumed, but the client is told the conversation ended here:
 * `server-message {type: 'conversation-end', data: {reason: 'server_drain', session_id,
 * resume_handle, resume_expires_at, reconnect: true}}`; it resumes through any node's `/connect`.
 */
export const SERVER_DRAIN = 'server_drain';

/** `about` of `bot-ready`. */
export const COLLOQUY_ABOUT = { library: 'colloquy', library_version: '0.1.0' } as const;

const DEFAULT_READY_TIMEOUT_MS = 30_000;

/**
 * Builds the session and starts listening to the transport. Throws `ConfigError` for a bad profile.
 *
 * @example
 * ```ts
 * import { createRtviSession, loadServerConfig, type RtviTransport, type SessionProfile } from 'colloquy/server';
 *
 * const config = loadServerConfig();
 * const profile: SessionProfile = {
 *   mode: 'agent',
 *   models: { llm: 'openai:gpt-4.1-mini', stt: 'deepgram:nova-3', tts: 'openai:gpt-4o-mini-tts', vad: 'silero' },
 *   agents: [{ name: 'main', instructions: 'You are a helpful voice assistant.' }],
 *   tools: [],
 * };
 * // `transport` is your own RtviTransport (a phone line, a custom socket…)
 * function serve(transport: RtviTransport): void {
 *   const rtvi = createRtviSession({ transport, profile, config });
 *   void rtvi.closed.then((reason) => console.log(`session ${rtvi.id} ended: ${reason}`));
 * }
 * ```
 */
export function createRtviSession(options: RtviSessionOptions): RtviSession {
  const { profile, config } = options;
  checkSpecificationVersion('transport', options.transport);
  const transport = new SwitchableTransport(options.transport);
  const logger = options.logger ?? consoleLogger;
  const cache = options.models ?? new ModelCache(config.baseDir, process.env, config.realtime);
  const sessionId = options.sessionId ?? randomUUID();
  const channels = new ClientChannels();
  // With projection on, `llm-function-call-in-progress` (from `tool.call`) already asks the client.
  const calls = new ClientCalls(
    config.rtviEvents
      ? undefined
      : (call) =>
          transport.sendMessage(
            rtviMessage('llm-function-call-in-progress', {
              tool_call_id: call.toolCallId,
              function_name: call.name,
              arguments: call.args,
            }),
          ),
  );
  const sink: AudioSink = {
    write: (frame, info) => transport.sendAudio(frame, info.sampleRate),
    clear: () => transport.clearAudio(),
  };
  // The server's session (store, memory, compaction, log lines), as every transport builds it.
  const built = buildServerSession({
    profile,
    config,
    logger,
    models: cache,
    sessionId,
    userId: options.userId ?? profile.userId ?? `user-${sessionId.slice(0, 8)}`,
    transport: transport.name,
    output: sink,
    clientChannels: channels,
    callClient: (call, signal) => calls.call(call, signal),
    ...(options.store ? { store: options.store } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.compaction ? { compaction: options.compaction } : {}),
  });
  const { bus, session } = built;
  const projection = new RtviProjection(bus, {
    send: (m) => transport.sendMessage(m),
    enabled: config.rtviEvents,
    transferToolName: TRANSFER_TOOL_NAME,
    channels,
  });

  const snapshots =
    options.store && options.resume?.durable
      ? new SessionSnapshots({
          bus,
          writer: options.store,
          credential: () => options.resume?.handles.current(sessionId),
          sessionId,
          profile,
          history: () => session.history,
          agentName: () => session.currentAgent,
          notifications: () => session.pendingNotifications,
        })
      : undefined;

  let state: RtviSessionState = 'waiting';
  let resolveClosed!: (reason: string) => void;
  const closed = new Promise<string>((r) => {
    resolveClosed = r;
  });
  let detachTimer: NodeJS.Timeout | undefined;
  /** Refused mic frames by problem (error code): the client hears of each kind once, all are counted. */
  const audioProblems = new Map<string, number>();

  const idle = new IdleWatch(
    bus,
    config.idleTimeoutMs,
    () => state === 'ready',
    () => void finish('idle_timeout'),
  );
  const armIdle = () => idle.arm();
  const offs = [
    // The session ended itself (a fatal error): the client already got `conversation-end`; close.
    bus.subscribe('session.close', (p) => void finish(p.reason)),
  ];

  // Cleared by client-ready and by closing: it fires only while the session waits.
  const readyTimer = setTimeout(() => {
    const ms = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    transport.sendMessage(errorMessage(`No client-ready within ${ms} ms`, true));
    void finish('client_ready_timeout');
  }, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  readyTimer.unref?.();

  /** Ends the session; the transport is closed last (a no-op once the wire has closed itself). */
  async function finish(reason: string): Promise<void> {
    if (state === 'closed') return;
    const suspend =
      (reason === SERVER_SHUTDOWN || reason === SERVER_DRAIN) &&
      snapshots !== undefined &&
      state !== 'waiting';
    const was = state;
    state = 'closed';
    clearTimeout(readyTimer);
    if (detachTimer) clearTimeout(detachTimer);
    if (suspend) {
      // The client comes back to a restarted server: a fresh handle for it, the last snapshot kept,
      // the stored session left waiting, and no `conversation-end` (the conversation goes on).
      projection.dispose();
      if (was === 'ready') {
        const issued = issueHandle();
        transport.sendMessage(
          reason === SERVER_DRAIN ? drainNotice(sessionId, issued) : shutdownNotice(sessionId, issued),
        );
      }
      snapshots.keep();
      built.dispose();
      options.store?.enqueue({ type: 'session.state', sessionId, state: 'detached', at: Date.now() });
    } else {
      options.resume?.handles.revoke(sessionId);
      snapshots?.drop();
    }
    idle.dispose();
    for (const off of offs) off();
    calls.rejectAll(`Session closed: ${reason}`);
    if (audioProblems.size > 0) {
      const counts = [...audioProblems].map(([code, n]) => `${code} ×${n}`).join(', ');
      logger.warn(`session ${sessionId}: refused audio frames: ${counts}`);
    }
    try {
      await session.close(reason);
    } catch (err) {
      logger.warn(`session ${sessionId}: close failed`, err);
    }
    projection.dispose();
    built.dispose();
    options.registry?.markClosed(sessionId, reason);
    transport.close();
    resolveClosed(reason);
  }

  const reportError = (component: string, err: unknown, severity: 'warn' | 'error') => {
    const error = toColloquyError(err, failureCode(component));
    bus.publish('error', { sessionId, component, error, severity });
  };

  const limits = config.limits ?? DEFAULT_LIMITS;
  const mic = new MicBudget(limits.micAudioSpeed);
  const internals: RtviSessionInternals = {
    sessionId,
    session,
    bus,
    transport,
    calls,
    mode: profile.mode,
    logger,
    get ready() {
      return state === 'ready';
    },
    speechQueued: 0,
    limits,
    budget: new MessageBudget(limits),
    mic,
    // Never called once closed: a closed session's messages are dropped before they are handled.
    onClientReady: (id, about) => {
      if (state === 'ready') {
        projection.botReady(id, readyAbout());
        return;
      }
      state = 'ready';
      clearTimeout(readyTimer);
      // Only the validated, length-bounded fields: no work on the client's payload for a log line.
      const client = about as { library?: unknown; library_version?: unknown } | undefined;
      logger.debug(`session ${sessionId}: client-ready`, {
        library: client?.library,
        version: client?.library_version,
      });
      projection.botReady(id, readyAbout());
      session
        .start()
        .then(() => {
          armIdle();
          if (profile.greeting && state === 'ready') return session.speak(profile.greeting);
        })
        .catch((err) => reportError('session', err, 'error'));
    },
    touch: armIdle,
    disconnect: (reason) => finish(reason),
    reportError,
  };

  transport.onMessage((raw) => {
    if (state === 'closed') return;
    try {
      handleClientMessage(raw, internals);
    } catch (err) {
      // A handler bug never ends the session: report it and go on.
      const error = toColloquyError(err, 'rtvi_handler_failed');
      logger.warn(`session ${sessionId}: client message failed`, error);
      transport.sendMessage(errorMessage(error.message, false));
    }
  });
  transport.onAudio((frame, sampleRate) => {
    if (state !== 'ready') return; // the client only streams after client-ready; drop strays
    const refused = (code: string, message: string) => {
      const seen = audioProblems.get(code) ?? 0;
      audioProblems.set(code, seen + 1);
      if (seen > 0) return;
      logger.warn(`session ${sessionId}: bad audio frame (${code})`, message);
      transport.sendMessage(
        errorMessage(
          `Audio refused (${code}): ${message}. Further frames with this problem are dropped and counted.`,
          false,
        ),
      );
    };
    // Faster than real time beyond the budget: dropped before speech detection works on it.
    if (!mic.admit(frame.length, sampleRate)) return refused('audio_too_fast', mic.refusal());
    try {
      session.pushAudio(frame, sampleRate);
    } catch (err) {
      const error = toColloquyError(err, 'invalid_audio');
      refused(error.code, error.message);
    }
  });
  transport.onClose((reason) => {
    // `error`: the wire was lost (no closing handshake, a failed peer, an unanswered heartbeat).
    const lost = reason === 'error';
    const resume = options.resume;
    if (!resume || state !== 'ready') {
      if (lost && state === 'ready') transportLost();
      else void finish(lost ? 'transport_error' : 'client_disconnected');
      return;
    }
    // Detached: the session waits for its client to come back with the handle.
    state = 'detached';
    idle.pause();
    session.interrupt('disconnected');
    detachTimer = setTimeout(
      () => (lost ? transportLost() : void finish('client_disconnected')),
      resume.windowMs,
    );
    detachTimer.unref?.();
  });

  /**
   * The conversation's connection was lost and did not come back (no resume, or the window passed):
   * a `fatal` transport error. The session ends itself on it (`fatal:transport_lost`), which closes
   * this one through `session.close`; the transcript stays in the registry and the store. Called
   * while the session is ready or detached only (closing clears the detach timer).
   */
  function transportLost(): void {
    const error = new TransportError(
      'transport_lost',
      `The ${transport.name} connection to the client was lost and did not come back`,
    );
    bus.publish('error', { sessionId, component: 'transport', error, severity: 'fatal' });
  }

  /** `about` of `bot-ready`, with a fresh resume handle when resume is on. */
  function readyAbout() {
    const base = aboutFor(sessionId);
    if (!options.resume) return base;
    const { handle, expiresAt } = issueHandle();
    return { ...base, resume_handle: handle, resume_expires_at: expiresAt };
  }

  /** A fresh resume handle (the previous one stops working), kept in the snapshot. */
  function issueHandle(): { handle: string; expiresAt: number } {
    const resume = options.resume!;
    const issued = resume.handles.issue(sessionId, session.userId, resume.handleTtlMs);
    snapshots?.save();
    return issued;
  }

  const handle: RtviSession = {
    id: sessionId,
    session,
    get state() {
      return state;
    },
    closed,
    close: (reason) => finish(reason),
    attach: (wire, usedHandle) => {
      if (state === 'closed') throw new ResumeError('resume_gone', 'The session has ended');
      if (detachTimer) clearTimeout(detachTimer);
      detachTimer = undefined;
      transport.attach(wire);
      if (state === 'detached') state = 'ready';
      bus.publish('session.resume', { sessionId, handle: usedHandle });
      armIdle();
    },
  };
  options.registry?.add({
    id: sessionId,
    transport: transport.name,
    mode: profile.mode,
    userId: session.userId,
    startedAt: Date.now(),
    transcript: () => session.history,
    close: handle.close,
  });
  return handle;
}

function aboutFor(sessionId: string) {
  return { ...COLLOQUY_ABOUT, protocol_version: RTVI_PROTOCOL_VERSION, session_id: sessionId };
}
