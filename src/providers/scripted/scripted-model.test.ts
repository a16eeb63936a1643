import { tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../logger.ts';
import { VoiceSession } from '../../session/voice-session.ts';
import { EventRecorder } from '../../testing/recorder.ts';
import { createScriptedModel, parseScript } from './scripted-model.ts';

const script = parseScript({
  rules: [
    {
      when: 'weather in (\\w+)',
      call: { name: 'weather', args: { city: 'Paris' } },
      say: 'It is {{result.tempC}} degrees in {{result.city}}.',
    },
    { when: '^hello|^hi\\b', say: 'Hello! How can I help?' },
  ],
  fallback: 'I did not catch that.',
});

function session() {
  const weather = tool({
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, tempC: 18 }),
  });
  const s = new VoiceSession({
    userId: 'u',
    agents: [{ name: 'm', instructions: 'x', tools: { weather } }],
    model: createScriptedModel(script),
    logger: silentLogger,
  });
  return { s, rec: new EventRecorder(s.eventBus) };
}

describe('scripted model', () => {
  it.each([
    ['HELLO there', 'Hello! How can I help?'],
    ['what is this', 'I did not catch that.'],
  ])('%s → %s, streamed word by word', async (input, reply) => {
    const { s, rec } = session();
    expect((await s.sendText(input)).text).toBe(reply);
    expect(
      rec
        .payloads('llm.text.delta')
        .map((d) => d.text)
        .join(''),
    ).toBe(reply);
    expect(rec.payloads('llm.text.delta').length).toBe(reply.split(' ').length);
  });

  it('a rule with a call runs the tool, then says its text with the result filled in', async () => {
    const { s, rec } = session();
    const r = await s.sendText('What is the weather in Paris?');
    expect(rec.first('tool.call')).toMatchObject({ name: 'weather', args: { city: 'Paris' } });
    expect(r.text).toBe('It is 18 degrees in Paris.');
  });

  it.each([
    [{ rules: [{ when: '(' }] }, 'not a valid regex'],
    [{ rules: 'nope' }, 'rules'],
    [{ rules: [{ when: 'x', call: { args: {} } }] }, 'rules.0.call.name'],
  ])('rejects a bad script with ConfigError (%#)', (raw, msg) => {
    expect(() => parseScript(raw)).toThrowError(
      expect.objectContaining({ code: 'invalid_script', message: expect.stringContaining(msg) }),
    );
  });
});
