/**
 * What a session has under way, as its bus tells it, and what a restored session reports of the
 * work that died with the previous server.
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import {
  interruptedSubagentNote,
  interruptedToolNote,
  PendingWorkTracker,
  reportWhenStarted,
} from './pending-work.ts';
import { VoiceSession } from './voice-session.ts';

const S = 's1';
const request = (requestId: string, subagentName: string, prompt: string) => ({
  sessionId: S,
  payload: { type: 'request' as const, requestId, subagentName, prompt, expiresAt: 1 },
});

describe('PendingWorkTracker', () => {
  it('follows background tools, subagents and their questions from start to end', () => {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    let queued = ['[a result]'];
    const work = new PendingWorkTracker(bus, () => queued);
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c1',
      name: 'report',
      args: {},
      execution: 'background',
    });
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c2',
      name: 'lookup',
      args: {},
      execution: 'inline',
    });
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h1' });
    bus.publish('subagent.ui.send', request('ui_1', 'desk', 'Which day?'));
    bus.publish('subagent.ui.send', request('ui_2', 'desk', 'What time?'));
    bus.publish('subagent.ui.send', request('ui_2', 'desk', 'What time?')); // sent again: one question
    expect(work.current).toEqual({
      tools: [{ toolCallId: 'c1', name: 'report', agentName: 'main' }],
      subagents: [
        {
          toolCallId: 'h1',
          subagentName: 'desk',
          questions: [
            { requestId: 'ui_1', prompt: 'Which day?' },
            { requestId: 'ui_2', prompt: 'What time?' },
          ],
        },
      ],
      notifications: ['[a result]'],
    });
    // Answered, withdrawn, finished: gone.
    bus.publish('subagent.ui.response', { sessionId: S, response: { requestId: 'ui_1', value: 'Monday' } });
    bus.publish('subagent.ui.send', {
      sessionId: S,
      payload: { type: 'cancel', requestId: 'ui_2', reason: 'timeout' },
    });
    expect(work.current.subagents[0]!.questions).toEqual([]);
    bus.publish('tool.result', { sessionId: S, toolCallId: 'c1', status: 'success', result: 1 });
    bus.publish('subagent.notification', {
      sessionId: S,
      result: { subagentName: 'desk', toolCallId: 'h1', text: 'done' },
      event: 'completed',
    });
    queued = [];
    expect(work.current).toEqual({ tools: [], subagents: [], notifications: [] });
    // Cancelled tools go too.
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c3',
      name: 'report',
      args: {},
      execution: 'background',
    });
    bus.publish('tool.cancel', { sessionId: S, toolCallIds: ['c3'] });
    expect(work.current.tools).toEqual([]);
    work.dispose();
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c4',
      name: 'report',
      args: {},
      execution: 'background',
    });
    expect(work.current.tools).toEqual([]);
  });
});

describe('reportWhenStarted', () => {
  it('once the restored session starts: tool results, question withdrawals, the subagent ending, one note', async () => {
    const session = new VoiceSession({
      sessionId: S,
      userId: 'ana',
      agents: [{ name: 'main', instructions: 'Help.' }],
      model: mockLanguageModel(['Sorry, that did not finish.']),
      logger: silentLogger,
    });
    const seen: Array<[string, unknown]> = [];
    for (const type of ['tool.result', 'subagent.ui.send', 'subagent.notification', 'turn.end'] as const) {
      session.eventBus.subscribe(type, (p) => seen.push([type, p]));
    }
    reportWhenStarted(session, {
      tools: [{ toolCallId: 'c1', name: 'report', agentName: 'main' }],
      subagents: [
        { toolCallId: 'h1', subagentName: 'desk', questions: [{ requestId: 'ui_1', prompt: 'Which day?' }] },
      ],
      notifications: ['[Background tool "x" (c0) finished with success: 1]'],
    });
    expect(seen).toEqual([]); // nothing before the session starts (no client to hear it)
    const ended = new Promise((r) => session.eventBus.subscribe('turn.end', r));
    await session.start();
    await ended;
    expect(seen.slice(0, 3)).toEqual([
      ['tool.result', expect.objectContaining({ toolCallId: 'c1', status: 'error', name: 'report' })],
      [
        'subagent.ui.send',
        { sessionId: S, payload: { type: 'cancel', requestId: 'ui_1', reason: 'server_restarted' } },
      ],
      [
        'subagent.notification',
        {
          sessionId: S,
          result: { subagentName: 'desk', toolCallId: 'h1', text: 'Interrupted: the server restarted' },
          event: 'failed',
        },
      ],
    ]);
    expect(session.history).toEqual([
      {
        role: 'user',
        content: [
          '[Background tool "x" (c0) finished with success: 1]',
          interruptedToolNote('report', 'c1'),
          interruptedSubagentNote('desk', ['Which day?']),
        ].join('\n'),
      },
      expect.objectContaining({ role: 'assistant' }),
    ]);
    await session.close();
  });

  it('nothing under way: nothing reported', async () => {
    const session = new VoiceSession({
      userId: 'ana',
      agents: [{ name: 'main', instructions: 'Help.' }],
      model: mockLanguageModel(['x']),
      logger: silentLogger,
    });
    reportWhenStarted(session, { tools: [], subagents: [], notifications: [] });
    reportWhenStarted(session, undefined);
    await session.start();
    expect(session.history).toEqual([]);
    await session.close();
  });
});

describe('the notes a restored agent is given of the work lost with the server', () => {
  it('a subagent: the questions it waited on, each quoted, joined with "and"; none named when it waited on none', () => {
    expect(interruptedSubagentNote('desk', ['Which day?', 'How many people?'])).toBe(
      '[Subagent "desk" did not finish: the server restarted while it worked, waiting for the user\'s answer to "Which day?" and "How many people?". Its work is lost. Tell the user, and offer to start it again.]',
    );
    expect(interruptedSubagentNote('desk', [])).toBe(
      '[Subagent "desk" did not finish: the server restarted while it worked. Its work is lost. Tell the user, and offer to start it again.]',
    );
  });

  it('a background tool: its name and call id', () => {
    expect(interruptedToolNote('book_table', 'call_7')).toBe(
      '[Background tool "book_table" (call_7) did not finish: the server restarted while it ran, and its result is lost. Tell the user, and offer to run it again.]',
    );
  });
});
