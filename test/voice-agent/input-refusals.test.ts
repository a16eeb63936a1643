import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { VoiceAgent } from '../../src/surfaces/voice-agent/voice-agent.ts';
import { mockLanguageModel } from '../../src/testing/mock-llm.ts';
import { heldTranscriptionModel, openClient, recordEvents, startServer, until } from './helpers.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('VoiceAgent input refusals', () => {
  it('sendText with blank or non-string text: refused by the agent with its own message, no turn runs', async () => {
    const agent = new VoiceAgent({ model: mockLanguageModel(['Never.']), logger: silentLogger });
    cleanups.push(() => agent.destroy());
    const events = recordEvents(agent);
    for (const text of ['', '   ', '\n\t', 7 as never]) {
      await expect(agent.sendText(text)).rejects.toMatchObject({
        name: 'InvalidInputError',
        code: 'empty_text',
        message: 'Text input cannot be empty',
      });
    }
    expect(agent.getHistory()).toEqual([]);
    expect(events).toEqual([]);
  });

  it('sendAudio without a transcription model: refused before anything is announced', async () => {
    const agent = new VoiceAgent({ model: mockLanguageModel(['Never.']), logger: silentLogger });
    cleanups.push(() => agent.destroy());
    const events = recordEvents(agent);
    for (const method of ['sendAudio', 'transcribeAudio'] as const) {
      await expect(agent[method](new Uint8Array([1, 2, 3, 4]))).rejects.toMatchObject({
        code: 'no_transcription_model',
        message: 'This agent has no transcriptionModel',
      });
    }
    // No `audio_received`: the recording was never taken.
    expect(events).toEqual([]);
  });

  it('an audio_commit dropped by a full input queue is named: messageType audio_commit', async () => {
    // The first recording's transcription holds until the test lets it go, so the queue's state is known.
    const { model: stt, release, started } = heldTranscriptionModel();
    const agent = new VoiceAgent({
      model: mockLanguageModel(['Fine.']),
      transcriptionModel: stt,
      maxQueuedInputs: 1,
      logger: silentLogger,
    });
    const server = await startServer((socket) => agent.handleSocket(socket));
    const log = await openClient(server.url);
    cleanups.push(
      () => log.socket.terminate(),
      () => agent.destroy(),
      () => server.close(),
      () => release(),
    );
    log.send({ type: 'audio', data: Buffer.from('rec 0').toString('base64') });
    await until(() => started() === 1);
    // One recording waits behind the running one: the queue (limit 1) is full.
    log.send({ type: 'audio', data: Buffer.from('rec 1').toString('base64') });
    log.send({ type: 'audio_config', sampleRate: 16000, vad: false });
    await log.waitFor('audio_config_ack');
    log.socket.send(new Uint8Array(new Int16Array(320).fill(500).buffer));
    log.send({ type: 'audio_commit' });
    await until(() => log.of('error').length > 0);
    expect(log.of('error')).toEqual([
      {
        type: 'error',
        error: 'Too many inputs waiting (limit 1); this one was dropped',
        code: 'input_queue_full',
        retryable: true,
        messageType: 'audio_commit',
      },
    ]);
    expect(started()).toBe(1);
  });

  it('an audio message to an agent without a transcription model: an error naming the audio message', async () => {
    const agent = new VoiceAgent({ model: mockLanguageModel(['Never.']), logger: silentLogger });
    const events = recordEvents(agent);
    const server = await startServer((socket) => agent.handleSocket(socket));
    const log = await openClient(server.url);
    cleanups.push(
      () => log.socket.terminate(),
      () => agent.destroy(),
      () => server.close(),
    );
    log.send({ type: 'audio', data: Buffer.from('rec').toString('base64') });
    await until(() => log.of('error').length > 0);
    expect(log.of('error')).toEqual([
      {
        type: 'error',
        error: 'This agent has no transcriptionModel',
        code: 'no_transcription_model',
        retryable: false,
        messageType: 'audio',
      },
    ]);
    expect(events.filter((e) => e.name === 'audio_received')).toEqual([]);
  });
});
