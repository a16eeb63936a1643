export {
  DEEPGRAM_LISTEN_URL,
  type DeepgramServerMessage,
  deepgramListenUrl,
  parseDeepgramMessage,
} from './deepgram-protocol.ts';
export { DeepgramStt, type DeepgramSttOptions } from './deepgram-stt.ts';
