/** After an interruption history keeps what the user heard: assistant text cut to it, tool messages kept. */
import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { assistantText, truncateToHeard } from './heard.ts';

const call = { type: 'tool-call' as const, toolCallId: 'c1', toolName: 'lookup', input: {} };
const result: ModelMessage = {
  role: 'tool',
  content: [
    { type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'text', value: 'ok' } },
  ],
};

describe('truncateToHeard', () => {
  const cases: Array<[string, ModelMessage[], string, number, ModelMessage[]]> = [
    [
      'a message heard whole loses its reasoning',
      [
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'think' },
            { type: 'text', text: 'Hi' },
          ],
        },
      ],
      '',
      2,
      [{ role: 'assistant', content: [{ type: 'text', text: 'Hi' }] }],
    ],
    [
      'plain assistant text is cut to the heard length',
      [{ role: 'assistant', content: 'Hello there friend' }],
      '',
      11,
      [{ role: 'assistant', content: 'Hello there' }],
    ],
    ['nothing heard: no assistant message', [{ role: 'assistant', content: 'Hello' }], '', 0, []],
    [
      'a heard length spans messages, then the text still streaming',
      [{ role: 'assistant', content: 'One. ' }, result, { role: 'assistant', content: 'Two. ' }],
      'Three four',
      16,
      [
        { role: 'assistant', content: 'One. ' },
        result,
        { role: 'assistant', content: 'Two. ' },
        { role: 'assistant', content: 'Three ' },
      ],
    ],
    [
      'parts: reasoning dropped, tool calls kept, text cut',
      [
        {
          role: 'assistant',
          content: [{ type: 'reasoning', text: 'think' }, { type: 'text', text: 'Let me check' }, call],
        },
        result,
      ],
      '',
      6,
      [{ role: 'assistant', content: [{ type: 'text', text: 'Let me' }, call] }, result],
    ],
    [
      'a text part left blank by the cut is dropped, and a message left empty too',
      [
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'text', text: '  more' },
          ],
        },
        { role: 'assistant', content: [{ type: 'reasoning', text: 'only thinking' }] },
      ],
      '',
      3,
      [{ role: 'assistant', content: [{ type: 'text', text: 'Hi' }] }],
    ],
    [
      'a blank streaming tail is not kept',
      [{ role: 'assistant', content: 'Done.' }],
      '   ',
      7,
      [{ role: 'assistant', content: 'Done.' }],
    ],
  ];
  it.each(cases)('%s', (_name, steps, inflight, heard, expected) => {
    expect(truncateToHeard(steps, inflight, heard)).toEqual(expected);
  });
});

describe('assistantText', () => {
  it('joins the text of assistant messages only, in order', () => {
    expect(
      assistantText([
        { role: 'user', content: 'question' },
        { role: 'assistant', content: 'A ' },
        result,
        {
          role: 'assistant',
          content: [{ type: 'reasoning', text: 'hmm' }, { type: 'text', text: 'B' }, call],
        },
      ]),
    ).toBe('A B');
    expect(assistantText([])).toBe('');
  });
});
