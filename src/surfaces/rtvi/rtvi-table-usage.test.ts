/** RTVI token metrics: only the sides a provider reported appear; a total is derived when it can be. */
import { describe, expect, it } from 'vitest';
import type { TokenUsage } from '../../bus/events.ts';
import type { RtviServerMessage } from './messages.ts';
import { RTVI_TABLE, RtviState } from './rtvi-table.ts';

function usage(u: TokenUsage) {
  const out: RtviServerMessage[] = [];
  const state = new RtviState('u', undefined);
  const mapper = RTVI_TABLE['metrics.usage'];
  mapper?.(
    { sessionId: 's', turnId: 't', agentName: 'main', model: 'm', usage: u },
    (x) => out.push(x),
    state,
  );
  return { out, tokens: state.tokensByTurn.get('t') };
}

const rows: Array<[string, TokenUsage, Record<string, unknown>, number | undefined]> = [
  ['nothing reported: no token keys, no total', {}, { processor: 'llm', model: 'm' }, undefined],
  [
    'output only: no prompt key, total is the output',
    { outputTokens: 7 },
    { processor: 'llm', model: 'm', completion_tokens: 7, total_tokens: 7 },
    7,
  ],
  [
    'input only: no completion key, total is the input',
    { inputTokens: 5 },
    { processor: 'llm', model: 'm', prompt_tokens: 5, total_tokens: 5 },
    5,
  ],
  [
    'a reported total wins over the sum',
    { inputTokens: 5, outputTokens: 7, totalTokens: 20 },
    { processor: 'llm', model: 'm', prompt_tokens: 5, completion_tokens: 7, total_tokens: 20 },
    20,
  ],
];

describe('RTVI_TABLE metrics.usage', () => {
  it.each(rows)('%s', (_name, u, entry, total) => {
    const { out, tokens } = usage(u);
    expect(out).toStrictEqual([{ label: 'rtvi-ai', type: 'metrics', data: { tokens: [entry] } }]);
    expect(tokens).toBe(total);
  });
});
