/**
 * ContextCompactor driven directly (a history, a bus, a scripted summariser): the budget from
 * `maxTokens` and `maxChars`, the trigger share and its default, what starts a compaction and what no
 * longer does after dispose, the summariser's call (model, prompt, transcript), one run at a time, and
 * the failure of an empty or failing summary, each with its exact message.
 */
import type { ModelMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import {
  type CompactionOptions,
  ContextCompactor,
  cutPoint,
  estimateTokens,
  SUMMARY_PREFIX,
} from './context-compaction.ts';
import { ConversationHistory } from './history.ts';

const user = (t: string): ModelMessage => ({ role: 'user', content: t });
const bot = (t: string): ModelMessage => ({ role: 'assistant', content: t });

/** A compactor over a history of `messages`; the session's own model answers `Session summary.`. */
function compactor(options: CompactionOptions, messages: ModelMessage[] = []) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const history = new ConversationHistory();
  history.replace(messages);
  const errors: unknown[] = [];
  const compacts: EventMap['context.compact'][] = [];
  bus.subscribe('context.compact', (p) => void compacts.push(p));
  const controller = new AbortController();
  const sessionModel = mockLanguageModel(['Session summary.']);
  const c = new ContextCompactor(options, {
    bus,
    sessionId: 's1',
    history,
    model: sessionModel,
    signal: controller.signal,
    reportError: (e) => void errors.push(e),
  });
  return { bus, history, errors, compacts, controller, sessionModel, c };
}

/** Four turns of 10 characters each: 40 characters of text. */
const FOUR = [user('aaaaaaaaaa'), bot('bbbbbbbbbb'), user('cccccccccc'), bot('dddddddddd')];

describe('ContextCompactor: when it is due', () => {
  it.each([
    // [options, due with 40 characters]
    [{ maxChars: 50 }, true], // 40 >= 50 * 0.8
    [{ maxChars: 51 }, false],
    [{ maxTokens: 12 }, true], // 48 characters: 40 >= 38.4
    [{ maxTokens: 13 }, false], // 52 characters: 40 < 41.6
    [{ maxTokens: 100, maxChars: 50 }, true], // the smaller budget
    [{ maxTokens: 12, maxChars: 1000 }, true],
    [{ maxChars: 40, triggerRatio: 1 }, true],
    [{ maxChars: 41, triggerRatio: 1 }, false],
    [{ maxChars: 80, triggerRatio: 0.5 }, true],
    [{}, false], // no budget: never
  ] as Array<[CompactionOptions, boolean]>)('%j → %s', (options, due) => {
    expect(compactor(options, FOUR).c.due()).toBe(due);
  });

  it('estimateTokens rounds characters ÷ 4 up', () => {
    expect([0, 1, 4, 5, 8].map(estimateTokens)).toEqual([0, 1, 1, 2, 2]);
  });
});

describe('ContextCompactor: what starts it', () => {
  /** How many runs began: a run reads the history at once, synchronously. */
  function runsStarted(history: ConversationHistory) {
    return vi.spyOn(history, 'all', 'get');
  }

  it.each(['turn.end', 'turn.interrupted'] as const)(
    '%s starts a run when due; after dispose it does not',
    async (type) => {
      const { bus, history, compacts, c } = compactor({ maxChars: 10, keepRecent: 1 }, FOUR);
      const runs = runsStarted(history);
      const publish = () =>
        type === 'turn.end'
          ? bus.publish('turn.end', { sessionId: 's1', turnId: 't' })
          : bus.publish('turn.interrupted', { sessionId: 's1', turnId: 't', reason: 'interrupted' });
      publish();
      expect(runs).toHaveBeenCalledTimes(1);
      await c.compact(); // the same run
      expect(compacts).toHaveLength(1);
      c.dispose();
      history.replace(FOUR);
      runs.mockClear();
      publish();
      expect(runs).not.toHaveBeenCalled();
    },
  );

  it('a turn that ends below the trigger starts no run', () => {
    const { bus, history } = compactor({ maxChars: 1000 }, FOUR);
    const runs = runsStarted(history);
    bus.publish('turn.end', { sessionId: 's1', turnId: 't' });
    bus.publish('turn.interrupted', { sessionId: 's1', turnId: 't', reason: 'interrupted' });
    expect(runs).not.toHaveBeenCalled();
  });
});

describe('ContextCompactor: a run', () => {
  it('the summariser gets the default prompt and the older turns as "role: text" lines; the kept part starts with a user turn', async () => {
    const { history, compacts, sessionModel, c } = compactor({ maxChars: 10 }, [
      ...FOUR,
      user('e'),
      bot('f'),
      user('g'),
      bot('h'),
      user('i'),
      bot('j'),
    ]);
    // keepRecent 6 by default: the last 6 are kept (they start with the user message 'e').
    expect(await c.compact()).toBe(true);
    const call = sessionModel.doGenerateCalls[0]!;
    expect(call.prompt[0]).toMatchObject({ role: 'system' });
    expect(call.prompt[1]).toEqual({
      role: 'user',
      content: [
        {
          type: 'text',
          text: 'user: aaaaaaaaaa\nassistant: bbbbbbbbbb\nuser: cccccccccc\nassistant: dddddddddd',
        },
      ],
      providerOptions: undefined,
    });
    expect(compacts).toEqual([{ sessionId: 's1', removedItems: 4, summary: 'Session summary.' }]);
    expect(history.all).toEqual([
      user(`${SUMMARY_PREFIX}\nSession summary.`),
      user('e'),
      bot('f'),
      user('g'),
      bot('h'),
      user('i'),
      bot('j'),
    ]);
  });

  it('its own model and prompt replace the session’s; the summary is trimmed', async () => {
    const own = mockLanguageModel(['  Trimmed.\n ']);
    const { history, sessionModel, c } = compactor(
      { maxChars: 10, keepRecent: 2, model: own, prompt: 'Be short.' },
      FOUR,
    );
    expect(await c.compact()).toBe(true);
    expect(sessionModel.doGenerateCalls).toHaveLength(0);
    expect(own.doGenerateCalls[0]?.prompt[0]).toEqual({ role: 'system', content: 'Be short.' });
    expect(history.all[0]).toEqual(user(`${SUMMARY_PREFIX}\nTrimmed.`));
  });

  it('nothing older than the kept turns: no call, false', async () => {
    const { sessionModel, c, compacts } = compactor({ maxChars: 1, keepRecent: 4 }, FOUR);
    expect(await c.compact()).toBe(false);
    expect(sessionModel.doGenerateCalls).toHaveLength(0);
    expect(compacts).toEqual([]);
  });

  it('two calls while one runs share it: one summary', async () => {
    const { c, sessionModel, compacts } = compactor({ maxChars: 1, keepRecent: 2 }, FOUR);
    const a = c.compact();
    const b = c.compact();
    expect(b).toBe(a);
    expect(await a).toBe(true);
    expect(sessionModel.doGenerateCalls).toHaveLength(1);
    expect(compacts).toHaveLength(1);
    // Once it ended, a new call runs again (nothing left to cut now: false).
    expect(await c.compact()).toBe(false);
  });

  it('a history changed at its start while the summary was made is left alone: false, no event', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = new MockLanguageModelV3({
      doGenerate: async () => {
        await gate;
        return {
          content: [{ type: 'text', text: 'Late.' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: {
            inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 1, text: 1, reasoning: 0 },
          },
          warnings: [],
        };
      },
    });
    const { history, c, compacts } = compactor({ maxChars: 1, keepRecent: 2, model: slow }, FOUR);
    const run = c.compact();
    history.replace([user('new'), bot('start')]);
    release();
    expect(await run).toBe(false);
    expect(compacts).toEqual([]);
    expect(history.all).toEqual([user('new'), bot('start')]);
  });
});

describe('ContextCompactor: a summary that fails', () => {
  it.each([
    [
      'an empty summary',
      mockLanguageModel(['   ']),
      'Context compaction failed; history kept: The summary was empty',
    ],
    [
      'a failing call',
      mockLanguageModel([[{ error: new Error('summariser down') }]]),
      'Context compaction failed; history kept: summariser down',
    ],
    [
      'a thrown non-Error',
      new MockLanguageModelV3({
        doGenerate: async () => {
          throw 'plain string';
        },
      }),
      'Context compaction failed; history kept: plain string',
    ],
  ])(
    '%s: compaction_failed (retryable) with its message and cause, the history kept',
    async (_name, model, message) => {
      const { history, errors, compacts, c } = compactor({ maxChars: 1, keepRecent: 2, model }, FOUR);
      expect(await c.compact()).toBe(false);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'compaction_failed', message, retryable: true });
      expect((errors[0] as { cause: unknown }).cause).toBeDefined();
      expect(compacts).toEqual([]);
      expect(history.all).toEqual(FOUR);
    },
  );

  it('the empty summary’s cause is compaction_empty', async () => {
    const { errors, c } = compactor({ maxChars: 1, keepRecent: 2, model: mockLanguageModel(['']) }, FOUR);
    await c.compact();
    expect((errors[0] as { cause: unknown }).cause).toMatchObject({
      code: 'compaction_empty',
      message: 'The summary was empty',
    });
  });

  it('the session closing during the summary: nothing reported, false', async () => {
    const hang = new MockLanguageModelV3({
      doGenerate: ({ abortSignal }) =>
        new Promise((_r, reject) => {
          if (abortSignal?.aborted) reject(abortSignal.reason);
          abortSignal?.addEventListener('abort', () => reject(abortSignal.reason));
        }),
    });
    const { errors, c, controller, compacts, history } = compactor(
      { maxChars: 1, keepRecent: 2, model: hang },
      FOUR,
    );
    const run = c.compact();
    controller.abort(new Error('closed'));
    expect(await run).toBe(false);
    expect(errors).toEqual([]);
    expect(compacts).toEqual([]);
    expect(history.all).toEqual(FOUR);
  });
});

describe('cutPoint: more cases', () => {
  it.each([
    ['nothing', [], 6, 0],
    ['keepRecent 0 keeps the newest message: back to its turn', FOUR, 0, 2],
    ['keepRecent 1', FOUR, 1, 2],
    [
      'a summary followed by more than one message is summarised again',
      [user(`${SUMMARY_PREFIX}\nold`), bot('x'), user('q'), bot('a')],
      2,
      2,
    ],
    ['a plain first message before a lone cut is summarised', [user('first'), user('q'), bot('a')], 2, 1],
    [
      'an assistant-first message starting with the prefix is no summary',
      [bot(`${SUMMARY_PREFIX}\nold`), user('q'), bot('a')],
      2,
      1,
    ],
  ] as Array<[string, ModelMessage[], number, number]>)('%s', (_name, messages, keep, cut) => {
    expect(cutPoint(messages, keep)).toBe(cut);
  });
});
