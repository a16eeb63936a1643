/**
 * The server's log lines of a session, line by line (JSON logger, fixed clock): interruptions with
 * and without a reason, errors at their severity with or without a session id, the heard text cut to
 * 200 characters, and nothing logged once unsubscribed. Also the two notices of a suspended or
 * drained session's client (session-snapshots.ts).
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { ProviderError } from '../errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { logSessionEvents } from './session-log.ts';
import { drainNotice, shutdownNotice } from './session-snapshots.ts';

function setup() {
  const lines: string[] = [];
  const logger = createConsoleLogger({
    level: 'debug',
    format: 'json',
    now: () => 0,
    write: (l) => lines.push(l),
  });
  const bus = new EventBus<EventMap>({ logger });
  const off = logSessionEvents(bus, logger);
  const entries = () =>
    lines.map((l) => {
      const { time: _time, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
  return { bus, off, entries };
}

describe('session log lines', () => {
  it('an interruption: info, with its reason when it has one', () => {
    const { bus, entries } = setup();
    bus.publish('turn.interrupted', { sessionId: 's1', turnId: 't1', reason: 'barge_in' } as never);
    bus.publish('turn.interrupted', { sessionId: 's1', turnId: 't2' } as never);
    expect(entries()).toEqual([
      { level: 'info', msg: 'turn interrupted (barge_in)', sessionId: 's1', turnId: 't1' },
      { level: 'info', msg: 'turn interrupted', sessionId: 's1', turnId: 't2' },
    ]);
  });

  it('an error: at its severity, named by component, with the session id when there is one', () => {
    const { bus, entries } = setup();
    const error = new ProviderError('llm_unavailable', 'down');
    bus.publish('error', { sessionId: 's1', component: 'llm', error, severity: 'warn' });
    bus.publish('error', { component: 'tool', error, severity: 'error' } as never);
    expect(entries().map(({ meta: _meta, ...e }) => e)).toEqual([
      { level: 'warn', msg: 'llm failed', sessionId: 's1', component: 'llm' },
      { level: 'error', msg: 'tool failed', component: 'tool' },
    ]);
    expect(entries().map((e) => (e.meta as Array<{ code: string }>)[0]!.code)).toEqual([
      'llm_unavailable',
      'llm_unavailable',
    ]);
  });

  it('an STT failure published as `error` only (no transcription.error before it) is logged', () => {
    const { bus, entries } = setup();
    const error = new ProviderError('stt_unavailable', 'gone');
    bus.publish('error', { sessionId: 's1', component: 'stt', error, severity: 'error' });
    expect(entries()).toMatchObject([{ level: 'error', msg: 'stt failed', component: 'stt' }]);
  });

  it('what was heard: at most its first 200 characters', () => {
    const { bus, entries } = setup();
    bus.publish('transcription.final', { sessionId: 's1', text: 'a'.repeat(250), at: 0 } as never);
    expect(entries()).toEqual([{ level: 'debug', msg: 'heard', sessionId: 's1', text: 'a'.repeat(200) }]);
  });

  it('unsubscribed: nothing more is logged, of any kind', () => {
    const { bus, off, entries } = setup();
    off();
    const error = new ProviderError('tts_unavailable', 'y');
    bus.publish('turn.latency', {
      sessionId: 's1',
      turnId: 't1',
      kind: 'cascade',
      segments: {},
      marks: {},
    } as never);
    bus.publish('turn.end', { sessionId: 's1', turnId: 't1', abandoned: true } as never);
    bus.publish('turn.interrupted', { sessionId: 's1', turnId: 't1' } as never);
    bus.publish('transcription.error', { sessionId: 's1', error } as never);
    bus.publish('transcription.final', { sessionId: 's1', text: 'hi', at: 0 } as never);
    bus.publish('error', { sessionId: 's1', component: 'tts', error, severity: 'error' });
    expect(entries()).toEqual([]);
  });
});

describe('the notices of a suspended or drained session', () => {
  const issued = { handle: 'h-123', expiresAt: 1_700_000_000_000 };

  it('shutdown: server-shutdown with the session, the new handle and its expiry, reconnect', () => {
    expect(shutdownNotice('s1', issued)).toEqual({
      label: 'rtvi-ai',
      type: 'server-message',
      data: {
        type: 'server-shutdown',
        data: {
          session_id: 's1',
          resume_handle: 'h-123',
          resume_expires_at: 1_700_000_000_000,
          reconnect: true,
        },
      },
    });
  });

  it('drain: conversation-end (server_drain) with the session, the handle and its expiry, reconnect', () => {
    expect(drainNotice('s1', issued)).toEqual({
      label: 'rtvi-ai',
      type: 'server-message',
      data: {
        type: 'conversation-end',
        data: {
          reason: 'server_drain',
          session_id: 's1',
          resume_handle: 'h-123',
          resume_expires_at: 1_700_000_000_000,
          reconnect: true,
        },
      },
    });
  });
});
