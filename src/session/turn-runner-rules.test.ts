/**
 * More of the turn runner's rules, through a real session: a turn whose speech fails ends with
 * `turn_failed` (its own error kept as it is), a cut turn cancels only its own inline tools (a
 * background tool it started runs on), and the exact events of the ways a turn ends.
 */
import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ColloquyError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { SpeechPort, SpeechResponse } from './speech-port.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

function makeSession(overrides: Partial<VoiceSessionOptions> = {}) {
  const session = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'main', instructions: 'x' }],
    model: mockLanguageModel(['Hello.']),
    logger: silentLogger,
    ...overrides,
  });
  return { session, rec: new EventRecorder(session.eventBus) };
}

/** An application's speech port whose responses fail with `failure` once the text is all pushed. */
function failingPort(failure: unknown): SpeechPort & { pushed: string[] } {
  const pushed: string[] = [];
  return {
    pushed,
    speaking: false,
    speak: async (turnId, text) => ({ turnId, heardText: text, fullText: text, interrupted: false }),
    beginResponse: (): SpeechResponse => {
      let fail!: (e: unknown) => void;
      const done = new Promise<never>((_r, reject) => {
        fail = reject;
      });
      return {
        pushText: (d) => void pushed.push(d),
        end: () => fail(failure),
        done,
      };
    },
    interrupt: () => undefined,
  };
}

describe('a turn whose speech fails', () => {
  it('a plain error: the turn ends with turn_failed (its text, the error as cause), reported once as a session error', async () => {
    const boom = new Error('audio device gone');
    const port = failingPort(boom);
    const { session, rec } = makeSession({ speech: port });
    const r = await session.sendText('hi');
    expect(r).toMatchObject({ agentName: 'main', text: 'Hello.', interrupted: false });
    expect(r.error).toBeInstanceOf(ColloquyError);
    expect(r.error).toMatchObject({ code: 'turn_failed', message: 'Error: audio device gone' });
    expect(r.error?.cause).toBe(boom);
    expect(rec.payloads('error')).toEqual([
      { sessionId: 's', component: 'session', error: r.error, severity: 'error' },
    ]);
    expect(port.pushed.join('')).toBe('Hello.');
    // It still ends as a turn: the answer, then turn.end, no interruption.
    expect(rec.types(['assistant.text', 'turn.interrupted', 'turn.end'])).toEqual([
      'assistant.text',
      'turn.end',
    ]);
    expect(rec.first('assistant.text')).toEqual({
      sessionId: 's',
      turnId: r.turnId,
      agentName: 'main',
      text: 'Hello.',
      interrupted: false,
    });
    expect(session.state).toBe('active');
    await session.close();
  });

  it('a Colloquy error is kept as it is', async () => {
    const own = new ColloquyError('tts_unavailable', 'no voice');
    const { session, rec } = makeSession({ speech: failingPort(own) });
    const r = await session.sendText('hi');
    expect(r.error).toBe(own);
    expect(rec.payloads('error').map((e) => [e.component, e.error, e.severity])).toEqual([
      ['session', own, 'error'],
    ]);
    await session.close();
  });
});

describe('a cut turn and its tools', () => {
  it('a background tool the cut turn started is not cancelled: it finishes and its result is announced', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const watch = defineTool({
      inputSchema: z.object({}),
      execution: 'background',
      execute: () => gate.then(() => 'done'),
    });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'watch', args: {}, id: 'bg1' } }],
      { parts: [{ text: 'Watching' }, { delayMs: 60_000 }, { text: ' never said' }] },
      'Cut you off.',
      'It is done.',
    ]);
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { watch } }],
    });
    const first = session.sendText('watch it');
    await rec.waitFor('llm.text.delta', (p) => p.text === 'Watching');
    const second = await session.sendText('stop');
    expect(await first).toMatchObject({ interrupted: true, reason: 'interrupted' });
    expect(second.text).toBe('Cut you off.');
    expect(rec.payloads('tool.cancel')).toEqual([]);
    release();
    const result = await rec.waitFor('tool.result', (p) => p.toolCallId === 'bg1');
    expect(result).toMatchObject({ status: 'success', result: 'done' });
    await rec.waitFor('assistant.text', (p) => p.text === 'It is done.');
    await session.close();
  });

  it('an inline tool of the cut turn is cancelled: tool.cancel, then its cancelled result', async () => {
    const hang = tool({
      inputSchema: z.object({}),
      execute: (_args, { abortSignal }) =>
        new Promise((_resolve, reject) =>
          abortSignal?.addEventListener('abort', () => reject(abortSignal.reason)),
        ),
    });
    const model = mockLanguageModel([[{ toolCall: { name: 'hang', args: {}, id: 'in1' } }], 'Next.']);
    const { session, rec } = makeSession({
      model,
      agents: [{ name: 'main', instructions: 'x', tools: { hang } }],
    });
    const first = session.sendText('go');
    await rec.waitFor('tool.call');
    await session.sendText('stop');
    const cut = await first;
    expect(cut).toMatchObject({ interrupted: true });
    expect(rec.payloads('tool.cancel')).toEqual([
      { sessionId: 's', toolCallIds: ['in1'], turnId: cut.turnId },
    ]);
    expect(rec.payloads('tool.result').map((p) => [p.toolCallId, p.status])).toEqual([['in1', 'cancelled']]);
    await session.close();
  });
});
