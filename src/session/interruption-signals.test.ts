/**
 * What an interruption must and must not stop: the running turn's LLM request is aborted (its
 * AbortSignal fires at once, not when a late token would arrive), while background tools — whose
 * lifetime is the session's — keep running and deliver their result later.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import { defineTool } from '../tools/define-tool.ts';
import { VoiceSession } from './voice-session.ts';

describe('interruption signals', () => {
  it('aborts the interrupted turn’s LLM request at the moment of the interrupt', async () => {
    // A slow stream: one token, then a long pause before the next.
    const model = mockLanguageModel([
      { parts: [{ text: 'first' }, { delayMs: 60_000 }, { text: 'never' }] },
      'next answer',
    ]);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x' }],
      model,
      logger: silentLogger,
    });
    const rec = new EventRecorder(session.eventBus);
    const turn = session.sendText('talk');
    await rec.waitFor('llm.text.delta');
    const signal = model.doStreamCalls[0].abortSignal;
    expect(signal?.aborted).toBe(false);
    session.interrupt('client_request');
    // Synchronously: the provider call is told to stop; nothing waits for a late token.
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({
      code: 'turn_interrupted',
      message: 'Turn interrupted: client_request',
    });
    expect(await turn).toMatchObject({ interrupted: true, reason: 'client_request' });
    await session.close();
  });

  it('keeps background tools running through an interruption and delivers their result', async () => {
    let release!: (v: string) => void;
    let toolSignal: AbortSignal | undefined;
    const research = defineTool({
      description: 'slow background research',
      inputSchema: z.object({}),
      execution: 'background',
      execute: (_i, { abortSignal }) => {
        toolSignal = abortSignal;
        return new Promise<string>((resolve) => {
          release = resolve;
        });
      },
    });
    const model = mockLanguageModel([
      [{ toolCall: { name: 'research', args: {}, id: 'bg1' } }],
      { parts: [{ text: 'I am on it, ' }, { delayMs: 60_000 }, { text: 'never' }] },
      'Your research is done.',
    ]);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x', tools: { research } }],
      model,
      logger: silentLogger,
    });
    const rec = new EventRecorder(session.eventBus);
    const turn = session.sendText('research this');
    await rec.waitFor('llm.text.delta', (p) => p.text.includes('it,'));
    session.interrupt('user_speaking');
    expect(await turn).toMatchObject({ interrupted: true });
    expect(toolSignal?.aborted).toBe(false);
    expect(rec.payloads('tool.cancel')).toEqual([]);

    release('found it');
    const result = await rec.waitFor('tool.result', (p) => p.toolCallId === 'bg1');
    expect(result).toMatchObject({ toolCallId: 'bg1', status: 'success', result: 'found it' });
    // The result is announced in a new turn once nothing else runs.
    await rec.waitFor('assistant.text', (p) => p.text === 'Your research is done.');
    await session.close();
    // Closing the session is what ends background work.
    expect(toolSignal?.aborted).toBe(false);
  });

  it('closing the session aborts background tools that are still running', async () => {
    let toolSignal: AbortSignal | undefined;
    const research = defineTool({
      description: 'never finishes',
      inputSchema: z.object({}),
      execution: 'background',
      execute: (_i, { abortSignal }) => {
        toolSignal = abortSignal;
        return new Promise<string>(() => {});
      },
    });
    const model = mockLanguageModel([[{ toolCall: { name: 'research', args: {}, id: 'bg2' } }], 'On it.']);
    const session = new VoiceSession({
      sessionId: 's',
      userId: 'u',
      agents: [{ name: 'main', instructions: 'x', tools: { research } }],
      model,
      logger: silentLogger,
    });
    const rec = new EventRecorder(session.eventBus);
    await session.sendText('research this');
    expect(toolSignal?.aborted).toBe(false);
    await session.close();
    expect(toolSignal?.aborted).toBe(true);
    expect(rec.first('tool.cancel')).toMatchObject({ toolCallIds: ['bg2'] });
  });
});
