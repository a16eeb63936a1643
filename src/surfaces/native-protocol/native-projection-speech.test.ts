/** The native projection's speech bracket: bus speech events in → exact messages on the wire. */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../bus/event-bus.ts';
import type { EventMap, EventType } from '../../bus/events.ts';
import { silentLogger } from '../../logger.ts';
import { NativeProjection } from './native-projection.ts';
import type { ServerMessage } from './server-messages.ts';

type Step = { [K in EventType]: [K, EventMap[K]] }[EventType];
const S = 's';
const T = 't1';

function run(steps: Step[]) {
  const bus = new EventBus<EventMap>({ logger: silentLogger });
  const sent: ServerMessage[] = [];
  const projection = new NativeProjection(bus, {
    send: (m) => sent.push(m),
    sessionInit: () => ({ type: 'session_init' }) as never,
    reasonFor: (reason) => `mapped:${reason}`,
  });
  for (const [type, payload] of steps) bus.publish(type, payload as never);
  projection.dispose();
  return sent;
}

const start = (streaming = true): Step => ['speech.start', { sessionId: S, turnId: T, streaming }];
const complete = (streaming = true): Step => ['speech.complete', { sessionId: S, turnId: T, streaming }];
const cut = (text = 'Hel'): Step => [
  'assistant.text',
  { sessionId: S, turnId: T, agentName: 'main', text, interrupted: true },
];
const queued: Step = ['speech.chunk.queued', { sessionId: S, turnId: T, chunkId: 0, text: 'Hello.' }];
const interrupted: Step = [
  'speech.interrupted',
  { sessionId: S, turnId: T, reason: 'user_speaking', heardText: 'Hel' },
];
const open = { type: 'speech_stream_start', turnId: T };
const end = { type: 'speech_stream_end', turnId: T };

describe('native projection: the speech stream bracket', () => {
  it.each<[string, Step[], unknown[]]>([
    ['a streaming speech start opens the bracket', [start()], [open]],
    ['a non-streaming speech start sends nothing', [start(false)], []],
    ['speech complete closes an open bracket once', [start(), complete(), complete()], [open, end]],
    ['speech complete with no open bracket sends nothing', [complete()], []],
    ['a non-streaming speech complete leaves the bracket open', [start(), complete(false)], [open]],
    [
      'a cut turn closes the open bracket; a later complete sends nothing',
      [start(), cut(), complete()],
      [open, end],
    ],
    ['a cut turn whose speech never opened sends no bracket end', [cut()], []],
    ['a cut after speech complete sends no second end', [start(), complete(), cut()], [open, end]],
    ['speech interrupted before anything was queued sends nothing', [interrupted], []],
    [
      'speech interrupted after a queued chunk: the mapped reason and what was heard',
      [queued, interrupted],
      [{ type: 'speech_interrupted', turnId: T, reason: 'mapped:user_speaking', heardText: 'Hel' }],
    ],
    [
      'an answer not interrupted with nothing held sends nothing',
      [['assistant.text', { sessionId: S, turnId: T, agentName: 'main', text: 'Hi', interrupted: false }]],
      [],
    ],
  ])('%s', (_name, steps, expected) => {
    expect(run(steps)).toStrictEqual(expected);
  });

  it('audio chunks carry the sample rate only when known', () => {
    const audio = new Uint8Array([1, 2, 3, 4]);
    const sent = run([
      [
        'speech.chunk',
        { sessionId: S, turnId: T, chunkId: 2, text: 'Hi.', audio, format: 'pcm16', sampleRate: 24000 },
      ],
      ['speech.chunk', { sessionId: S, turnId: T, chunkId: 3, text: 'Yo.', audio, format: 'mp3' }],
    ]);
    expect(sent).toStrictEqual([
      {
        type: 'audio_chunk',
        turnId: T,
        chunkId: 2,
        data: 'AQIDBA==',
        format: 'pcm16',
        text: 'Hi.',
        sampleRate: 24000,
      },
      { type: 'audio_chunk', turnId: T, chunkId: 3, data: 'AQIDBA==', format: 'mp3', text: 'Yo.' },
    ]);
  });
});
