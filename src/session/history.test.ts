import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { truncateToHeard } from './heard.ts';
import { ConversationHistory } from './history.ts';

const toolCall: ModelMessage = {
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { q: 'x' } }],
};
const toolResult: ModelMessage = {
  role: 'tool',
  content: [
    { type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'json', value: 1 } },
  ],
};

describe('ConversationHistory', () => {
  it('drops tool results orphaned by trimming their call, and reports the count', () => {
    const trims: Array<[number, string]> = [];
    const h = new ConversationHistory({ maxMessages: 2 }, { onTrim: (n, r) => trims.push([n, r]) });
    h.append({ role: 'user', content: 'q' }, toolCall, toolResult);
    // 3 > 2: the user message goes; keeping [call, result] is fine
    expect(h.all.map((m) => m.role)).toEqual(['assistant', 'tool']);
    h.append({ role: 'assistant', content: 'answer' });
    // dropping the call also drops its result
    expect(h.all.map((m) => m.role)).toEqual(['assistant']);
    expect(trims).toEqual([
      [1, 'max_messages'],
      [2, 'max_messages'],
    ]);
  });

  it('counts characters and always keeps the newest message', () => {
    const h = new ConversationHistory({ maxTotalChars: 5 });
    h.append({ role: 'user', content: 'a much longer message' });
    expect(h.length).toBe(1);
    expect(h.totalChars).toBe(21);
    h.clear();
    expect(h.totalChars).toBe(0);
  });
});

describe('truncateToHeard', () => {
  it('keeps tool calls and results and cuts assistant text to the heard prefix', () => {
    const steps: ModelMessage[] = [
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Let me check. ' }, ...(toolCall.content as never[])],
      },
      toolResult,
    ];
    const out = truncateToHeard(steps, 'It is sunny and warm today.', 'Let me check. It is sunny'.length);
    expect(out).toEqual([
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Let me check. ' }, (toolCall.content as never[])[0]],
      },
      toolResult,
      { role: 'assistant', content: 'It is sunny' },
    ]);
  });

  it('drops assistant text the user never heard', () => {
    expect(truncateToHeard([], 'Nothing was played yet', 0)).toEqual([]);
  });

  it('a turn heard whole keeps its messages; reasoning and blank text never enter history', () => {
    const whole: ModelMessage = {
      role: 'assistant',
      content: [{ type: 'text', text: 'Breakfast is at seven.' }],
    };
    const said: ModelMessage = { role: 'assistant', content: 'And lunch at noon.' };
    const total = 'Breakfast is at seven.And lunch at noon. Anything else?'.length;
    const out = truncateToHeard([whole, said], ' Anything else?', total);
    expect(out).toEqual([whole, said, { role: 'assistant', content: ' Anything else?' }]);
    const thinking: ModelMessage = {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'The guest wants times.' },
        { type: 'text', text: ' \n\u00a0' },
        { type: 'text', text: 'At seven.' },
      ],
    };
    expect(truncateToHeard([thinking, { role: 'assistant', content: '\t ' }], '\ufeff', 100)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'At seven.' }] },
    ]);
  });
});

describe('ConversationHistory counts and limits', () => {
  it('counts the characters of text, reasoning, tool inputs and tool outputs', () => {
    const h = new ConversationHistory();
    h.append(
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'hm' },
          { type: 'text', text: 'ok' },
        ],
      },
      toolCall,
      toolResult,
    );
    expect(h.totalChars).toBe(
      'hm'.length + 'ok'.length + '{"q":"x"}'.length + '{"type":"json","value":1}'.length,
    );
  });

  it('an image counts no characters; only the text beside it does', () => {
    const h = new ConversationHistory();
    h.append({
      role: 'user',
      content: [
        { type: 'text', text: 'what is this?' },
        { type: 'image', image: new Uint8Array([1, 2, 3]), mediaType: 'image/png' },
      ],
    });
    expect(h.totalChars).toBe('what is this?'.length);
  });

  it('trimming a call whose results are the newest messages leaves an empty history', () => {
    const trims: Array<[number, string]> = [];
    const h = new ConversationHistory({ maxMessages: 1 }, { onTrim: (n, r) => trims.push([n, r]) });
    h.append({ role: 'user', content: 'look' }, toolCall, toolResult);
    expect([h.all, h.totalChars, trims]).toEqual([[], 0, [[3, 'max_messages']]]);
  });

  it('trims by characters only above the limit, and counts what is left', () => {
    const trims: Array<[number, string]> = [];
    const h = new ConversationHistory({ maxTotalChars: 6 }, { onTrim: (n, r) => trims.push([n, r]) });
    h.append({ role: 'user', content: 'abc' }, { role: 'assistant', content: 'def' });
    expect([h.length, h.totalChars, trims]).toEqual([2, 6, []]);
    h.append({ role: 'user', content: 'gh' });
    expect(h.all.map((m) => m.content)).toEqual(['def', 'gh']);
    expect([h.totalChars, trims]).toEqual([5, [[1, 'max_chars']]]);
  });

  it('a trimmed tool call takes its results with it, and their characters', () => {
    const h = new ConversationHistory({ maxMessages: 2 });
    h.append(toolCall, toolResult, { role: 'assistant', content: 'xy' });
    expect(h.all).toEqual([{ role: 'assistant', content: 'xy' }]);
    expect(h.totalChars).toBe(2);
  });

  it('replace() takes the messages (a copy), counts them and applies the limits', () => {
    const h = new ConversationHistory({ maxMessages: 2 });
    const given: ModelMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'bb' },
      { role: 'user', content: 'ccc' },
    ];
    h.replace(given);
    expect(h.all.map((m) => m.content)).toEqual(['bb', 'ccc']);
    expect(h.totalChars).toBe(5);
    expect(given).toHaveLength(3);
  });

  it('compact() replaces the oldest messages only while they are still exactly the given prefix', () => {
    const a: ModelMessage = { role: 'user', content: 'aaaa' };
    const b: ModelMessage = { role: 'assistant', content: 'bbbb' };
    const c: ModelMessage = { role: 'user', content: 'cc' };
    const summary: ModelMessage = { role: 'user', content: 's' };
    const h = new ConversationHistory();
    h.append(a, b, c);
    expect(h.compact([], summary)).toBe(false);
    expect(h.compact([a, b, c, summary], summary)).toBe(false);
    expect(h.compact([b], summary)).toBe(false);
    expect(h.compact([a, c], summary)).toBe(false);
    expect(h.all).toEqual([a, b, c]);
    expect(h.compact([a, b, c], summary)).toBe(true);
    expect([h.all, h.totalChars]).toEqual([[summary], 1]);
  });
});
