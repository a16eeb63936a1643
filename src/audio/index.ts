export { decodeMuLaw, encodeMuLaw, linearToMuLaw, muLawToLinear } from './mu-law.ts';
export {
  createOpusDecoder,
  createOpusEncoder,
  OPUS_FRAME_MS,
  OPUS_FRAME_SAMPLES,
  OPUS_SAMPLE_RATE,
  type OpusApplication,
  type OpusCodecOptions,
  OpusDecoder,
  OpusEncoder,
} from './opus.ts';
export {
  audioLevel,
  bytesToInt16,
  clampInt16,
  concatPcm,
  downmixToMono,
  float32ToInt16,
  int16ToBytes,
  int16ToFloat32,
  PcmFrameSplitter,
  pcmDurationMs,
  rms,
} from './pcm.ts';
export {
  isSupportedSampleRate,
  resample,
  StreamingResampler,
  SUPPORTED_SAMPLE_RATES,
  type SupportedSampleRate,
} from './resample.ts';
export {
  type DecodedWav,
  type DecodeWavOptions,
  decodeWav,
  encodeWav,
  isWav,
  type WavFormat,
  WavStreamDecoder,
} from './wav.ts';
