/**
 * The specification versions of the interfaces other packages implement for Colloquy (as the AI
 * SDK's provider interfaces carry `specificationVersion: 'v3'`). A provider or transport declares
 * the version it was written against; Colloquy checks it when the provider is given, so one built
 * for another version fails at once with a clear error instead of misbehaving mid-call. A version
 * changes only when the interface changes incompatibly.
 */
import { ConfigError } from './errors.ts';

/**
 * The interface version each provider contract carries as `specificationVersion`; a model declaring
 * another version is refused with `unsupported_specification` when it is given to Colloquy.
 *
 * @example
 * ```ts
 * import { SPECIFICATION_VERSIONS, type VadModel, type VadStream } from 'colloquy';
 *
 * // a VAD that calls everything loud enough speech (a stand-in for a real model)
 * class LoudnessVad implements VadModel {
 *   readonly specificationVersion = SPECIFICATION_VERSIONS.vad;
 *   readonly provider = 'example';
 *   readonly modelId = 'loudness-1';
 *   readonly sampleRate = 16000;
 *   readonly frameSamples = 512;
 *   createStream(): VadStream {
 *     return {
 *       process: (frame) => (frame.some((s) => Math.abs(s) > 2000) ? 1 : 0),
 *       reset: () => {},
 *       close: () => {},
 *     };
 *   }
 * }
 * ```
 */
export const SPECIFICATION_VERSIONS = {
  /** `VadModel` (and the `VadStream`s it creates). */
  vad: 'colloquy-vad-v1',
  /** `SttModel`: streaming speech-to-text. */
  stt: 'colloquy-stt-v1',
  /** `TtsModel`: streaming text-to-speech. */
  tts: 'colloquy-tts-v1',
  /** `EncodedTtsModel`: text-to-speech returning each text's audio as one encoded file. */
  encodedTts: 'colloquy-encoded-tts-v1',
  /** `RealtimeModel`: speech-to-speech models. */
  realtime: 'colloquy-realtime-v1',
  /** `RtviTransport`: the wire under an RTVI session. */
  transport: 'colloquy-transport-v1',
} as const;

export type SpecifiedInterface = keyof typeof SPECIFICATION_VERSIONS;

const NAMES: Record<SpecifiedInterface, string> = {
  vad: 'VAD model',
  stt: 'STT model',
  tts: 'TTS model',
  encodedTts: 'encoded TTS model',
  realtime: 'realtime model',
  transport: 'transport',
};

/**
 * Throws a `ConfigError` with code `unsupported_specification` unless `value` declares the
 * `specificationVersion` this Colloquy implements for `kind`.
 */
export function checkSpecificationVersion(kind: SpecifiedInterface, value: unknown): void {
  const expected = SPECIFICATION_VERSIONS[kind];
  const given = (value as { specificationVersion?: unknown } | null | undefined)?.specificationVersion;
  if (given === expected) return;
  const provider = (value as { provider?: unknown; name?: unknown } | null | undefined) ?? {};
  const label =
    typeof provider.provider === 'string'
      ? provider.provider
      : typeof provider.name === 'string'
        ? provider.name
        : 'unnamed';
  const declared =
    typeof given === 'string' ? `implements "${given.slice(0, 64)}"` : 'declares no specificationVersion';
  throw new ConfigError(
    'unsupported_specification',
    `The ${NAMES[kind]} "${label.slice(0, 64)}" ${declared}; this Colloquy needs specificationVersion "${expected}"`,
    { details: { kind, expected, given: typeof given === 'string' ? given : undefined } },
  );
}
