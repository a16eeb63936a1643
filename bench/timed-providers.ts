/**
 * The stand-in providers of the benchmark, timestamped: `MockStt`, `MockTts` and
 * `mockLanguageModel` wrapped so each call and each first answer is recorded (`performance.now()`).
 */
import type { LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { ABORTABLE_ITERATOR, type AbortableIterable } from '../src/providers/abortable-iterate.ts';
import type { SttEvent, SttModel, SttStreamOptions, TtsModel, TtsRequest } from '../src/providers/types.ts';
import { SPECIFICATION_VERSIONS } from '../src/specification-version.ts';
import { mockLanguageModel } from '../src/testing/mock-llm.ts';
import type { MockStt } from '../src/testing/mock-stt.ts';
import type { MockTts } from '../src/testing/mock-tts.ts';

const now = (): number => performance.now();
const INPUT_RATE = 16000;

/** `MockStt` with the end of its input audio and its final transcript timestamped. */
export class TimedStt implements SttModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.stt;
  readonly provider = 'bench';
  readonly modelId = 'timed-mock-stt';
  readonly sampleRate = INPUT_RATE;
  constructor(
    private readonly inner: MockStt,
    private readonly onAudioEnd: (at: number) => void,
    private readonly onFinal: (at: number) => void,
  ) {}

  async *transcribe(audio: AsyncIterable<Int16Array>, options: SttStreamOptions): AsyncIterable<SttEvent> {
    this.inner.calls.length = 0; // the mock records every call; a long run must not grow
    for await (const event of this.inner.transcribe(endTapped(audio, this.onAudioEnd), options)) {
      if (event.type === 'final') this.onFinal(now());
      yield event;
    }
  }
}

/**
 * `audio` with the moment its end is read timestamped. An iterator that hands on the source's own
 * results (one `then` per frame), not an async generator: the tap must not add the per-frame
 * allocation and awaits of a generator to the audio path it measures.
 */
function endTapped(audio: AsyncIterable<Int16Array>, onEnd: (at: number) => void): AsyncIterable<Int16Array> {
  const tap = (source: AsyncIterator<Int16Array>): AsyncIterator<Int16Array> => {
    const seen = (r: IteratorResult<Int16Array>) => {
      if (r.done) onEnd(now());
      return r;
    };
    return {
      next: () => source.next().then(seen),
      return: (value?: unknown) =>
        source.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
    };
  };
  const tapped: AsyncIterable<Int16Array> & Partial<AbortableIterable<Int16Array>> = {
    [Symbol.asyncIterator]: () => tap(audio[Symbol.asyncIterator]()),
  };
  // The session's audio watches an abort signal itself (no wrapper per frame): so does the tap.
  const abortable = (audio as Partial<AbortableIterable<Int16Array>>)[ABORTABLE_ITERATOR];
  if (abortable !== undefined) {
    tapped[ABORTABLE_ITERATOR] = (signal: AbortSignal) => tap(abortable.call(audio, signal));
  }
  return tapped;
}

/** `MockTts` with each request and its first audio timestamped. */
export class TimedTts implements TtsModel {
  readonly specificationVersion = SPECIFICATION_VERSIONS.tts;
  readonly provider = 'bench';
  readonly modelId = 'timed-mock-tts';
  readonly sampleRate: number;
  constructor(
    private readonly inner: MockTts,
    private readonly onRequest: (at: number) => void,
    private readonly onFirstChunk: (at: number) => void,
  ) {
    this.sampleRate = inner.sampleRate;
  }

  async *synthesize(request: TtsRequest): AsyncIterable<Int16Array> {
    this.onRequest(now());
    this.inner.requests.length = 0; // the mock records every request (and its abort signal); a long run must not grow
    let first = true;
    for await (const chunk of this.inner.synthesize(request)) {
      if (first) {
        first = false;
        this.onFirstChunk(now());
      }
      yield chunk;
    }
  }
}

/** A scripted LLM (`mockLanguageModel`) answering `answer` after `llmMs`, with call and first token timestamped. */
export function timedLanguageModel(
  answer: string,
  llmMs: number,
  onCall: (at: number) => void,
  onFirstDelta: (at: number) => void,
) {
  // `{ delayMs }` as the first part: exactly `llmMs` before the first text part.
  const model = mockLanguageModel([{ parts: [{ delayMs: llmMs }, { text: answer }] }]);
  const inner = model.doStream;
  model.doStream = async (options) => {
    onCall(now());
    model.doStreamCalls.length = 0; // the mock records every call; a long run must not grow
    const result = await inner(options);
    let first = true;
    const tap = new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
      transform(part, controller) {
        if (first && part.type === 'text-delta') {
          first = false;
          onFirstDelta(now());
        }
        controller.enqueue(part);
      },
    });
    return { ...result, stream: result.stream.pipeThrough(tap) };
  };
  return model;
}
