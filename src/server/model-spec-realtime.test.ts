import { describe, expect, it } from 'vitest';
import { GeminiLiveModel } from '../providers/realtime/gemini-live.ts';
import { OpenAIRealtimeModel } from '../providers/realtime/openai-realtime.ts';
import { isRealtimeSpec, resolveRealtimeModel } from './model-spec.ts';
import { ModelCache } from './session-factory.ts';

describe('realtime model specs', () => {
  it('openai-realtime:MODEL and google-live:MODEL name realtime models; others do not', () => {
    expect(isRealtimeSpec('openai-realtime:gpt-realtime')).toBe(true);
    expect(isRealtimeSpec('google-live:gemini-live-2.5-flash')).toBe(true);
    expect(isRealtimeSpec('openai:gpt-4.1-mini')).toBe(false);
    const openai = resolveRealtimeModel('openai-realtime:gpt-realtime-mini', {});
    expect(openai).toBeInstanceOf(OpenAIRealtimeModel);
    expect(openai.modelId).toBe('gpt-realtime-mini');
    const gemini = resolveRealtimeModel(
      'google-live:models/gemini-2.5-flash-native-audio-preview-12-2025',
      {},
    );
    expect(gemini).toBeInstanceOf(GeminiLiveModel);
    expect(gemini.modelId).toBe('gemini-2.5-flash-native-audio-preview-12-2025');
    expect(() => resolveRealtimeModel('openai-realtime', {})).toThrow(/needs a model name/);
    expect(() => resolveRealtimeModel('openai:gpt-4o', {})).toThrow(/not a realtime model/);
  });

  it('a realtime COLLOQUY_LLM keeps a text model for subagents; agents may name their own realtime model', () => {
    const cache = new ModelCache(process.cwd(), {});
    const models = cache.models({
      llm: 'google-live:gemini-live',
      stt: 'pocketsphinx',
      tts: 'espeak',
      vad: 'energy',
    });
    expect(models.realtime?.provider).toBe('google-live');
    expect(typeof models.llm).toBe('object');
    expect(cache.realtime('google-live:gemini-live')).toBe(models.realtime);
  });
});
