/**
 * The turn runner's own rules, through a real session: a turn's images go to the model with that
 * turn only, background results wait for the running turn and are announced (or only recorded when
 * `announceBackgroundResults` is false), and subagent outcomes become notes for the agent.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
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

/** The content of the prompt's user messages of one model call, part types only for arrays. */
function userContents(prompt: ReadonlyArray<{ role: string; content: unknown }>): unknown[] {
  return prompt
    .filter((m) => m.role === 'user')
    .map((m) =>
      Array.isArray(m.content)
        ? m.content.map((p: { type: string; text?: string }) => (p.type === 'text' ? p.text : p.type))
        : m.content,
    );
}

describe('turn input: images', () => {
  it('an image goes to the model with its own turn only; history and user.text keep the text', async () => {
    const model = mockLanguageModel(['A red square.', 'Yes.']);
    const { session, rec } = makeSession({ model });
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    await session.sendText('What is this?', { images: [{ data: png, mediaType: 'image/png' }] });
    await session.sendText('Sure?');

    expect(rec.payloads('user.text')).toEqual([
      { sessionId: 's', turnId: expect.any(String), text: 'What is this?', source: 'text', hasImage: true },
      { sessionId: 's', turnId: expect.any(String), text: 'Sure?', source: 'text' },
    ]);
    // First call: the user message carries the text and the image.
    expect(userContents(model.calls[0].prompt)).toEqual([['What is this?', 'file']]);
    // Second call: the earlier turn is text only, as history keeps it.
    expect(userContents(model.calls[1].prompt)).toEqual([['What is this?'], ['Sure?']]);
    expect(session.history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      'What is this?',
      'Sure?',
    ]);
    await session.close();
  });

  it('an empty image list is no image', async () => {
    const model = mockLanguageModel(['Hi.']);
    const { session, rec } = makeSession({ model });
    await session.sendText('Hello', { images: [] });
    expect(rec.first('user.text')).toEqual({
      sessionId: 's',
      turnId: expect.any(String),
      text: 'Hello',
      source: 'text',
    });
    expect(userContents(model.calls[0].prompt)).toEqual([['Hello']]);
    await session.close();
  });
});

describe('background notes', () => {
  it('a note that arrives during a turn waits for its end, then enters history and is announced in a new turn', async () => {
    const model = mockLanguageModel([
      { parts: [{ text: 'Working on it.' }], chunkDelayMs: 5 },
      'The parcel has arrived.',
    ]);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('Where is my parcel?');
    await rec.waitFor('llm.text.delta');
    session.notify('[parcel delivered]');
    expect(session.pendingNotifications).toEqual(['[parcel delivered]']);
    expect(rec.types('turn.start')).toHaveLength(1);
    await first;
    const announced = await rec.waitFor('assistant.text', (p) => p.text === 'The parcel has arrived.');
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types('turn.start')).toHaveLength(2);
    expect(rec.payloads('turn.end').map((p) => p.turnId)).toContain(announced.turnId);
    // The note is a user message of history, after the first turn; the announcing turn has no user.text.
    expect(session.history.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Where is my parcel?'],
      ['assistant', expect.anything()],
      ['user', '[parcel delivered]'],
      ['assistant', expect.anything()],
    ]);
    expect(rec.payloads('user.text')).toHaveLength(1);
    await session.close();
  });

  it('notes that arrive together are one history message, one line each', async () => {
    const model = mockLanguageModel([{ parts: [{ text: 'One moment.' }], chunkDelayMs: 5 }, 'Both done.']);
    const { session, rec } = makeSession({ model });
    const first = session.sendText('Do two things');
    await rec.waitFor('llm.text.delta');
    session.notify('[first done]');
    session.notify('[second done]');
    expect(session.pendingNotifications).toEqual(['[first done]', '[second done]']);
    await first;
    await rec.waitFor('assistant.text', (p) => p.text === 'Both done.');
    expect(session.history[2]).toEqual({ role: 'user', content: '[first done]\n[second done]' });
    expect(rec.types('turn.start')).toHaveLength(2);
    await session.close();
  });

  it('with announceBackgroundResults false a note enters history without a turn', async () => {
    const model = mockLanguageModel(['never said']);
    const { session, rec } = makeSession({ model, announceBackgroundResults: false });
    session.notify('[report ready]');
    expect(session.history).toEqual([{ role: 'user', content: '[report ready]' }]);
    expect(session.pendingNotifications).toEqual([]);
    expect(rec.types('turn.start')).toEqual([]);
    expect(model.calls).toHaveLength(0);
    await session.close();
  });

  it('a note after close is dropped', async () => {
    const { session, rec } = makeSession();
    await session.close();
    session.notify('[too late]');
    expect(session.history).toEqual([]);
    expect(rec.types('turn.start')).toEqual([]);
  });
});

describe('transfers within one turn', () => {
  it('agents that keep transferring to each other stop after three transfers in one turn', async () => {
    const transferTo = (agent: string) => [{ toolCall: { name: 'transfer_to_agent', args: { agent } } }];
    const frontModel = mockLanguageModel([transferTo('billing')]);
    const billingModel = mockLanguageModel([transferTo('front')]);
    const { session, rec } = makeSession({
      agents: [
        { name: 'front', instructions: 'You greet.', description: 'greets', model: frontModel },
        { name: 'billing', instructions: 'You bill.', description: 'invoices', model: billingModel },
      ],
      model: frontModel,
    });
    const r = await session.sendText('pass me around');
    expect(rec.payloads('agent.transfer').map((p) => [p.fromAgent, p.toAgent])).toEqual([
      ['front', 'billing'],
      ['billing', 'front'],
      ['front', 'billing'],
    ]);
    // Four passes: the fourth one's transfer request is not carried out.
    expect(frontModel.calls.length + billingModel.calls.length).toBe(4);
    expect(r).toMatchObject({ interrupted: false, agentName: 'billing' });
    expect(session.currentAgent).toBe('billing');
    expect(rec.types(['turn.start', 'turn.end'])).toEqual(['turn.start', 'turn.end']);
    await session.close();
  });
});
