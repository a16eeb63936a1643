import { MockSpeechModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { ColloquyError } from './errors.ts';
import { silentLogger } from './logger.ts';
import type { EncodedTtsModel } from './pipeline/speech-response.ts';
import { OpenAIRealtimeModel } from './providers/realtime/openai-realtime.ts';
import type { TtsModel, VadModel } from './providers/types.ts';
import { loadServerConfig, resolveProfile } from './server/config.ts';
import { createRtviSession } from './server/rtvi-session.ts';
import type { RtviTransport } from './server/rtvi-transport.ts';
import { VoiceSession } from './session/voice-session.ts';
import { checkSpecificationVersion, SPECIFICATION_VERSIONS } from './specification-version.ts';
import { SpeechModelTts } from './surfaces/voice-agent/encoded-speech.ts';
import { mockLanguageModel } from './testing/mock-llm.ts';
import { MockStt } from './testing/mock-stt.ts';
import { MockTts } from './testing/mock-tts.ts';
import { MockVad } from './testing/mock-vad.ts';

/** A third-party VAD written against another version of the interface. */
function vadOfVersion(version: string | undefined): VadModel {
  const vad = new MockVad();
  Object.defineProperty(vad, 'specificationVersion', { value: version });
  return vad;
}

function session(audio: { vad?: VadModel; tts?: TtsModel | EncodedTtsModel }): VoiceSession {
  return new VoiceSession({
    userId: 'u1',
    agents: [{ name: 'main', instructions: 'Be brief.' }],
    model: mockLanguageModel(['ok']),
    logger: silentLogger,
    audio: { inputSampleRate: 16000, outputSampleRate: 24000, output: { write: () => {} }, ...audio },
  });
}

function refusal(fn: () => unknown): ColloquyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ColloquyError);
    return err as ColloquyError;
  }
  throw new Error('expected a refusal');
}

describe('specification versions', () => {
  it('each built-in provider and mock declares the version of its interface', () => {
    expect(new MockVad().specificationVersion).toBe('colloquy-vad-v1');
    expect(new MockStt().specificationVersion).toBe('colloquy-stt-v1');
    expect(new MockTts().specificationVersion).toBe('colloquy-tts-v1');
    expect(
      new SpeechModelTts({ model: new MockSpeechModelV3(), outputFormat: 'mp3' }).specificationVersion,
    ).toBe('colloquy-encoded-tts-v1');
    expect(new OpenAIRealtimeModel({ apiKey: 'k', model: 'gpt-realtime' }).specificationVersion).toBe(
      'colloquy-realtime-v1',
    );
    expect(Object.values(SPECIFICATION_VERSIONS)).toEqual([
      'colloquy-vad-v1',
      'colloquy-stt-v1',
      'colloquy-tts-v1',
      'colloquy-encoded-tts-v1',
      'colloquy-realtime-v1',
      'colloquy-transport-v1',
    ]);
  });

  it('a session given a VAD of another version, or of none, refuses it with a typed error naming both', () => {
    expect(() => session({ vad: new MockVad() })).not.toThrow();
    const wrong = refusal(() => session({ vad: vadOfVersion('colloquy-vad-v2') }));
    expect(wrong).toMatchObject({
      code: 'unsupported_specification',
      details: { kind: 'vad', expected: 'colloquy-vad-v1', given: 'colloquy-vad-v2' },
    });
    expect(wrong.message).toBe(
      'The VAD model "mock" implements "colloquy-vad-v2"; this Colloquy needs specificationVersion "colloquy-vad-v1"',
    );
    expect(refusal(() => session({ vad: vadOfVersion(undefined) })).message).toContain(
      'declares no specificationVersion',
    );
  });

  it('a session checks its STT and TTS models too', () => {
    const stt = new MockStt();
    Object.defineProperty(stt, 'specificationVersion', { value: 'colloquy-stt-v0' });
    const withStt = () =>
      new VoiceSession({
        userId: 'u1',
        agents: [{ name: 'main', instructions: 'Be brief.' }],
        model: mockLanguageModel(['ok']),
        logger: silentLogger,
        audio: { inputSampleRate: 16000, vad: new MockVad(), stt },
      });
    expect(refusal(withStt).details).toMatchObject({ kind: 'stt', given: 'colloquy-stt-v0' });
    const tts = new MockTts();
    Object.defineProperty(tts, 'specificationVersion', { value: 'colloquy-realtime-v1' });
    expect(refusal(() => session({ tts })).details).toMatchObject({
      kind: 'tts',
      given: 'colloquy-realtime-v1',
    });
  });

  it('a session checks an encoded TTS model against the encoded TTS version', () => {
    const encoded = (specificationVersion: string | undefined) =>
      ({
        specificationVersion,
        provider: 'mp3-maker',
        modelId: 'm1',
        format: 'mp3',
        synthesizeEncoded: async () => new Uint8Array([1, 2, 3]),
      }) as unknown as EncodedTtsModel;
    expect(() => session({ tts: encoded('colloquy-encoded-tts-v1') })).not.toThrow();
    // The streaming TTS version is a different interface: an encoded model declaring it is refused.
    const err = refusal(() => session({ tts: encoded('colloquy-tts-v1') }));
    expect(err).toMatchObject({
      code: 'unsupported_specification',
      details: { kind: 'encodedTts', expected: 'colloquy-encoded-tts-v1', given: 'colloquy-tts-v1' },
    });
    expect(err.message).toBe(
      'The encoded TTS model "mp3-maker" implements "colloquy-tts-v1"; this Colloquy needs specificationVersion "colloquy-encoded-tts-v1"',
    );
    expect(refusal(() => session({ tts: encoded(undefined) })).details).toMatchObject({
      kind: 'encodedTts',
      given: undefined,
    });
  });

  it('a realtime session checks its model', () => {
    const model = new OpenAIRealtimeModel({ apiKey: 'k', model: 'gpt-realtime' });
    Object.defineProperty(model, 'specificationVersion', { value: 'colloquy-realtime-v2' });
    const err = refusal(
      () =>
        new VoiceSession({
          userId: 'u1',
          agents: [{ name: 'main', instructions: 'Be brief.' }],
          model: mockLanguageModel(['ok']),
          logger: silentLogger,
          realtime: { model },
        }),
    );
    expect(err.details).toMatchObject({ kind: 'realtime', given: 'colloquy-realtime-v2' });
  });

  it('a realtime session checks an agent’s own realtime model too', () => {
    const model = new OpenAIRealtimeModel({ apiKey: 'k', model: 'gpt-realtime' });
    const other = new OpenAIRealtimeModel({ apiKey: 'k', model: 'gpt-realtime-mini' });
    Object.defineProperty(other, 'specificationVersion', { value: 'colloquy-realtime-v0' });
    const make = (realtime: unknown) => () =>
      new VoiceSession({
        userId: 'u1',
        agents: [
          { name: 'main', instructions: 'Be brief.', transfers: ['billing'] },
          { name: 'billing', instructions: 'Bills.', realtime: realtime as OpenAIRealtimeModel },
        ],
        model: mockLanguageModel(['ok']),
        logger: silentLogger,
        realtime: { model },
      });
    expect(make(new OpenAIRealtimeModel({ apiKey: 'k', model: 'gpt-realtime-mini' }))).not.toThrow();
    expect(refusal(make(other)).details).toMatchObject({
      kind: 'realtime',
      expected: 'colloquy-realtime-v1',
      given: 'colloquy-realtime-v0',
    });
    expect(refusal(make({ specificationVersion: 'colloquy-realtime-v1' })).code).toBe('invalid_agent');
  });

  it('an RTVI session checks its transport', () => {
    const config = loadServerConfig({});
    const transport = {
      name: 'homemade',
      sendMessage: () => {},
      sendAudio: () => {},
      clearAudio: () => {},
      onMessage: () => {},
      onAudio: () => {},
      onClose: () => {},
      close: () => {},
    } as unknown as RtviTransport;
    const err = refusal(() =>
      createRtviSession({ transport, config, profile: resolveProfile(config), logger: silentLogger }),
    );
    expect(err.message).toBe(
      'The transport "homemade" declares no specificationVersion; this Colloquy needs specificationVersion "colloquy-transport-v1"',
    );
  });

  it('checkSpecificationVersion takes only the exact version string', () => {
    expect(() => checkSpecificationVersion('stt', { specificationVersion: 'colloquy-stt-v1' })).not.toThrow();
    for (const bad of [
      null,
      undefined,
      {},
      { specificationVersion: 1 },
      { specificationVersion: 'colloquy-stt-v1 ' },
    ]) {
      expect(() => checkSpecificationVersion('stt', bad)).toThrow(/specificationVersion "colloquy-stt-v1"/);
    }
  });
});
