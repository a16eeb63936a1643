export { EnergyVad, type EnergyVadOptions, EnergyVadStream } from './energy-vad.ts';
export {
  ESPEAK_SAMPLE_RATE,
  type EspeakBackend,
  type EspeakPool,
  EspeakTts,
  type EspeakTtsOptions,
} from './espeak-tts.ts';
export {
  POCKETSPHINX_SAMPLE_RATE,
  PocketsphinxStt,
  type PocketsphinxSttOptions,
} from './pocketsphinx-stt.ts';
export {
  defaultSileroModelPath,
  SILERO_CONTEXT_SAMPLES,
  SILERO_FRAME_SAMPLES,
  SILERO_SAMPLE_RATE,
  SileroVad,
  type SileroVadOptions,
  SileroVadStream,
} from './silero-vad.ts';
