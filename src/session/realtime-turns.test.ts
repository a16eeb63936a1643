/**
 * When a realtime turn ends, and what a transfer between agents of one model sends: against the local
 * fake OpenAI Realtime server (real WebSockets on loopback).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { closeAll, closeLater, harness, openai } from '../../test/support/realtime-harness.ts';
import { OpenAIRealtimeModel } from '../providers/realtime/openai-realtime.ts';

afterEach(closeAll);

describe('a realtime turn ends when nothing of it is pending', () => {
  it('the response that called a tool is done, the tool still runs: no turn.end until its answer is spoken', async () => {
    const { model } = await openai({
      replies: [{ toolCall: { name: 'lookup', args: {} }, text: 'Found it.', audioMs: 200 }],
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lookup = tool({
      description: 'Looks something up',
      inputSchema: z.object({}),
      execute: async () => {
        await gate;
        return { found: true };
      },
    });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    await session.start();
    const answer = session.sendText('look it up');
    await rec.waitFor('tool.call');
    await rec.waitFor('metrics.usage'); // published with the end of the response that made the call
    expect(rec.types(['assistant.text', 'turn.end'])).toEqual([]);
    release();
    const result = await answer;
    expect(result).toMatchObject({ text: 'Found it.', interrupted: false });
    expect(rec.types(['tool.result', 'assistant.text', 'turn.end'])).toEqual([
      'tool.result',
      'assistant.text',
      'turn.end',
    ]);
  });
  it('a turn cut while its tool runs ends once: the cancelled tool does not end it again', async () => {
    const { model } = await openai({
      replies: [{ toolCall: { name: 'lookup', args: {} }, text: 'Found it.', audioMs: 100 }, { text: 'Hi.' }],
    });
    const lookup = tool({
      description: 'Looks something up',
      inputSchema: z.object({}),
      // Runs until cancelled.
      execute: (_args, { abortSignal }) =>
        new Promise((_resolve, reject) =>
          abortSignal?.addEventListener('abort', () => reject(abortSignal.reason)),
        ),
    });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    await session.start();
    const cut = session.sendText('look it up');
    const call = await rec.waitFor('tool.call');
    await rec.waitFor('metrics.usage');
    session.interrupt();
    expect(await cut).toMatchObject({ turnId: call.turnId, interrupted: true });
    await rec.waitFor('tool.cancel');
    // A whole next turn (a round trip to the provider) runs after the cancelled tool settled.
    await session.sendText('hello');
    const ofCut = rec.events.filter((e) => (e.payload as { turnId?: string }).turnId === call.turnId);
    expect(
      ofCut.filter((e) => e.type === 'assistant.text' || e.type === 'turn.end').map((e) => e.type),
    ).toEqual(['assistant.text']);
    expect(rec.types(['turn.interrupted'])).toEqual(['turn.interrupted']);
  });
});

describe('a transfer between agents of one model (OpenAI: live session update)', () => {
  it('updates the open connection and replays nothing: no new connection, no context.compact', async () => {
    const { server, model } = await openai({
      replies: [
        { text: 'One.', audioMs: 100 },
        { text: 'Two.', audioMs: 100 },
        {
          toolCall: { name: 'transfer_to_agent', args: { agent: 'billing' } },
          text: 'Billing here.',
          audioMs: 100,
        },
      ],
    });
    const { session, rec } = harness(model, {
      agents: [
        { name: 'front', instructions: 'You route.', transfers: ['billing'] },
        { name: 'billing', instructions: 'You do billing.' },
      ],
      // A replay of this conversation would be over this budget, and say so with context.compact.
      realtime: { replayMaxItems: 2 },
    });
    await session.start();
    await session.sendText('first');
    await session.sendText('second');
    const result = await session.sendText('billing, please');
    expect(result.text).toBe('Billing here.');
    expect(session.currentAgent).toBe('billing');
    expect(server.connectionCount).toBe(1);
    expect(rec.types(['context.compact'])).toEqual([]);
  });
});

describe('transferTo() on a realtime session', () => {
  it('moves the conversation to the agent now: agent.transfer, the new agent in force, its setup sent', async () => {
    const { server, model } = await openai();
    const { session, rec } = harness(model, {
      agents: [
        { name: 'front', instructions: 'You route.', transfers: ['billing'] },
        { name: 'billing', instructions: 'You do billing.' },
      ],
    });
    await session.start();
    session.transferTo('billing', 'asked for billing');
    expect(rec.first('agent.transfer')).toMatchObject({
      fromAgent: 'front',
      toAgent: 'billing',
      reason: 'asked for billing',
    });
    expect(session.currentAgent).toBe('billing');
    await rec.waitFor('agent.enter', (p) => p.agentName === 'billing');
    const update = await server.waitFor('session.update', (m) =>
      String((m.session as { instructions?: string }).instructions).includes('You do billing.'),
    );
    expect(update).toBeDefined();
  });
});

describe('llm.start and llm.end of a cut realtime turn', () => {
  it('cut while its finished answer still plays: llm.end finish (with the usage) before the interruption', async () => {
    // 2 s of audio sent at 8 times real time: the response is done long before it has played.
    const { model } = await openai({ replies: [{ text: 'A long answer.', audioMs: 2000 }] });
    const { session, rec } = harness(model);
    await session.start();
    const cut = session.sendText('hi');
    await rec.waitFor('metrics.usage'); // published with the end of the response
    await rec.waitFor('bot.speaking.start');
    session.interrupt();
    expect(await cut).toMatchObject({ interrupted: true });
    expect(rec.types(['llm.start', 'llm.end', 'turn.interrupted'])).toEqual([
      'llm.start',
      'llm.end',
      'turn.interrupted',
    ]);
    expect(rec.first('llm.end')).toMatchObject({
      outcome: 'finish',
      usage: rec.first('metrics.usage')!.usage,
    });
  });

  it('cut while its tool runs (between two responses): llm.end abort', async () => {
    const { model } = await openai({
      replies: [{ toolCall: { name: 'lookup', args: {} }, text: 'Found it.' }],
    });
    const lookup = tool({
      description: 'Looks something up',
      inputSchema: z.object({}),
      execute: (_args, { abortSignal }) =>
        new Promise((_resolve, reject) =>
          abortSignal?.addEventListener('abort', () => reject(abortSignal.reason)),
        ),
    });
    const { session, rec } = harness(model, {
      agents: [{ name: 'main', instructions: 'x', tools: { lookup } }],
    });
    await session.start();
    const cut = session.sendText('look it up');
    await rec.waitFor('tool.call');
    await rec.waitFor('metrics.usage');
    session.interrupt();
    expect(await cut).toMatchObject({ interrupted: true });
    expect(rec.types(['llm.start', 'llm.end', 'turn.interrupted'])).toEqual([
      'llm.start',
      'llm.end',
      'turn.interrupted',
    ]);
    expect(rec.first('llm.end')).toMatchObject({ outcome: 'abort' });
  });
});

describe('typed turns on a realtime session', () => {
  it('refuses a turn with images (InvalidInputError invalid_argument); sends nothing, and the next turn is answered', async () => {
    const { server, model } = await openai({ replies: [{ text: 'Hi.' }] });
    const { session } = harness(model);
    await session.start();
    const image = { data: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), mediaType: 'image/png' };
    await expect(session.sendText('what is this?', { images: [image] })).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'invalid_argument',
      message: 'A realtime session takes no images with a turn',
    });
    expect(await session.sendText('hello')).toMatchObject({ text: 'Hi.', interrupted: false });
    const texts = server
      .messages('conversation.item.create')
      .map((m) => (m.item as { content?: Array<{ text?: string }> }).content?.[0]?.text);
    expect(texts).toEqual(['hello']);
  });
});

describe('connecting', () => {
  it('a provider that never confirms the setup fails the session after realtime.connectTimeoutMs', async () => {
    // A WebSocket server that accepts the connection and never answers.
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(silent, 'listening');
    closeLater(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of silent.clients) ws.terminate();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as AddressInfo;
    const model = new OpenAIRealtimeModel({
      model: 'gpt-realtime',
      apiKey: 'k',
      url: `ws://127.0.0.1:${port}/v1/realtime`,
    });
    const { session, rec } = harness(model, { realtime: { connectTimeoutMs: 200 } });
    await session.start();
    const failed = await rec.waitFor('error');
    expect(failed).toMatchObject({ component: 'realtime', severity: 'fatal' });
    expect(failed.error.code).toBe('realtime_setup_timeout');
    expect(failed.error.message).toBe('No session.updated within 200 ms');
    expect(session.state).toBe('closed');
  });
});
