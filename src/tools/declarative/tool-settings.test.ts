/** A declarative tool's `timeout_ms` and `execution` settings change how the session runs it. */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { mockLanguageModel } from '../../testing/mock-llm.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { buildDeclarativeTools, parseDeclarativeTools } from './build.ts';

/** A `client_function` tool whose client answers only when `answer` is called. */
function session(settings: Record<string, unknown>) {
  let answer!: (v: unknown) => void;
  let clientSignal: AbortSignal | undefined;
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const tools = buildDeclarativeTools(
    parseDeclarativeTools([
      { name: 'ask_page', kind: 'client_function', description: 'Ask the page', ...settings },
    ]),
    {
      bus,
      sessionId: 's',
      callClient: (_call, signal) => {
        clientSignal = signal;
        return new Promise((resolve) => {
          answer = resolve;
        });
      },
    },
  );
  const model = mockLanguageModel([[{ toolCall: { name: 'ask_page', args: {}, id: 'c1' } }], 'Done.']);
  const s = new VoiceSession({
    sessionId: 's',
    userId: 'u',
    agents: [{ name: 'm', instructions: 'x', tools }],
    model,
    logger: silentLogger,
    eventBus: bus,
    toolTimeoutMs: 60_000,
  });
  return {
    s,
    rec: new EventRecorder(bus),
    model,
    answer: (v: unknown) => answer(v),
    signal: () => clientSignal,
  };
}

describe('declarative tool settings', () => {
  it('timeout_ms bounds the call: the tool times out (not the 60 s session default) and is aborted', async () => {
    const { s, rec, signal } = session({ timeout_ms: 40 });
    const turn = await s.sendText('go');
    expect(turn.interrupted).toBe(false);
    expect(rec.first('tool.result')).toMatchObject({ toolCallId: 'c1', status: 'timeout' });
    expect(signal()?.aborted).toBe(true);
    await s.close();
  }, 5000);

  it('execution "background" lets the turn finish at once and delivers the result later', async () => {
    const { s, rec, model, answer } = session({ execution: 'background' });
    const turn = await s.sendText('go');
    expect(turn.text).toBe('Done.');
    expect(rec.first('tool.call')).toMatchObject({ id: 'c1', execution: 'background' });
    expect(rec.payloads('tool.result')).toEqual([]);
    // The LLM was told the work runs in the background.
    const toolMessage = JSON.stringify(model.doStreamCalls[1].prompt.at(-1));
    expect(toolMessage).toContain('background');
    answer({ ok: true });
    expect(await rec.waitFor('tool.result')).toMatchObject({ toolCallId: 'c1', status: 'success' });
    await s.close();
  }, 5000);

  it('without settings the tool runs inline: the turn waits for the result', async () => {
    const { s, rec, answer } = session({});
    const turn = s.sendText('go');
    await rec.waitFor('tool.call');
    expect(rec.first('tool.call')).toMatchObject({ execution: 'inline' });
    answer({ ok: true });
    expect((await turn).text).toBe('Done.');
    expect(rec.first('tool.result')).toMatchObject({ status: 'success', result: { ok: true } });
    await s.close();
  }, 5000);
});
