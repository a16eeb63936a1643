import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { ConfigError, ProviderError } from '../errors.ts';
import { createConsoleLogger } from '../logger.ts';
import { describeLatency, logSessionEvents } from './session-log.ts';

function setup(level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  const logger = createConsoleLogger({ level, format: 'json', now: () => 0, write: (l) => lines.push(l) });
  const bus = new EventBus<EventMap>({ logger });
  logSessionEvents(bus, logger);
  return { bus, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('server session log', () => {
  it('writes one info line per finished turn with its latency, session and turn ids', () => {
    const { bus, entries } = setup();
    bus.publish('turn.latency', {
      sessionId: 's1',
      turnId: 't1',
      kind: 'cascade',
      segments: { sttMs: 212.4, llmProcessingMs: 380, ttsMs: 151, totalE2EMs: 841.6 },
      marks: {},
    });
    expect(entries()).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'info',
        msg: 'turn done (cascade): total 842 ms (stt 212, llm 380, tts 151)',
        sessionId: 's1',
        turnId: 't1',
      },
    ]);
  });

  it('an STT failure is logged once (as transcription.error and as error), with its code', () => {
    const { bus, entries } = setup();
    const error = new ConfigError('stt_bad_grammar', 'Grammar file not found: /x.jsgf');
    bus.publish('transcription.error', { sessionId: 's1', error });
    bus.publish('error', { sessionId: 's1', component: 'stt', error, severity: 'error' });
    bus.publish('error', {
      sessionId: 's1',
      component: 'tts',
      error: new ProviderError('tts_unavailable', "'espeak-ng' was not found on PATH"),
      severity: 'error',
    });
    expect(
      entries().map((e) => [e.level, e.msg, e.component, (e.meta as Array<{ code: string }>)[0]!.code]),
    ).toEqual([
      ['warn', 'speech recognition failed', 'stt', 'stt_bad_grammar'],
      ['error', 'tts failed', 'tts', 'tts_unavailable'],
    ]);
  });

  it('what was heard is logged at debug only', () => {
    const quiet = setup('info');
    quiet.bus.publish('transcription.final', { sessionId: 's1', text: 'what time is breakfast', at: 0 });
    expect(quiet.entries()).toEqual([]);
    const verbose = setup('debug');
    verbose.bus.publish('transcription.final', { sessionId: 's1', text: 'what time is breakfast', at: 0 });
    expect(verbose.entries()).toMatchObject([
      { level: 'debug', msg: 'heard', text: 'what time is breakfast' },
    ]);
  });

  it('speech that gave no transcript is logged at debug with the session and turn ids', () => {
    const quiet = setup('info');
    quiet.bus.publish('turn.end', { sessionId: 's1', turnId: 't2', abandoned: true });
    expect(quiet.entries()).toEqual([]);
    const verbose = setup('debug');
    verbose.bus.publish('turn.end', { sessionId: 's1', turnId: 't1' });
    verbose.bus.publish('turn.end', { sessionId: 's1', turnId: 't2', abandoned: true });
    expect(verbose.entries()).toEqual([
      {
        time: '1970-01-01T00:00:00.000Z',
        level: 'debug',
        msg: 'speech gave no transcript: turn abandoned',
        sessionId: 's1',
        turnId: 't2',
      },
    ]);
  });

  it('describes latency with the segments present', () => {
    expect(describeLatency({})).toBe('total n/a');
    expect(describeLatency({ totalE2EMs: 90, llmProcessingMs: 40 })).toBe('total 90 ms (llm 40)');
    // A realtime turn, in the order the audio travels.
    expect(
      describeLatency({
        totalE2EMs: 262.4,
        backendToClientMs: 2.2,
        llmToBackendMs: 14.6,
        llmProcessingMs: 240,
        backendToLLMMs: 3.1,
        clientToBackendMs: 12,
      }),
    ).toBe('total 262 ms (in 12, to model 3, llm 240, model audio 15, out 2)');
  });
});
