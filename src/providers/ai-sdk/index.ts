export { SpeechTts, type SpeechTtsOptions } from './speech-tts.ts';
export { TranscriptionStt, type TranscriptionSttOptions } from './transcription-stt.ts';
