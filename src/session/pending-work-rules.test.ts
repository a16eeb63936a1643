/**
 * More of what a session has under way, as a table: which work counts as pending, whose question a
 * subagent's request is, what the tracker hands out (copies), and the exact events and note a
 * restored session reports, at once when it already runs.
 */
import { describe, expect, it } from 'vitest';
import { EventBus } from '../bus/event-bus.ts';
import type { EventMap } from '../bus/events.ts';
import { silentLogger } from '../logger.ts';
import type { PendingWork } from '../store/types.ts';
import { mockLanguageModel } from '../testing/mock-llm.ts';
import { EventRecorder } from '../testing/recorder.ts';
import {
  hasPendingWork,
  interruptedToolNote,
  PendingWorkTracker,
  reportInterruptedWork,
  reportWhenStarted,
} from './pending-work.ts';
import { VoiceSession } from './voice-session.ts';

const S = 's1';
const request = (requestId: string, subagentName: string, prompt: string) => ({
  sessionId: S,
  payload: { type: 'request' as const, requestId, subagentName, prompt, expiresAt: 1 },
});
const tool = { toolCallId: 'c1', name: 'report', agentName: 'main' };
const sub = { toolCallId: 'h1', subagentName: 'desk', questions: [] };

describe('hasPendingWork', () => {
  it.each([
    ['undefined', undefined, false],
    ['nothing', { tools: [], subagents: [], notifications: [] }, false],
    ['a tool only', { tools: [tool], subagents: [], notifications: [] }, true],
    ['a subagent only', { tools: [], subagents: [sub], notifications: [] }, true],
    ['a note only', { tools: [], subagents: [], notifications: ['[x]'] }, true],
  ] as Array<[string, PendingWork | undefined, boolean]>)('%s → %s', (_name, work, expected) => {
    expect(hasPendingWork(work)).toBe(expected);
  });
});

describe('PendingWorkTracker: whose question, and what it hands out', () => {
  function tracker() {
    const bus = new EventBus<EventMap>({ logger: silentLogger });
    return { bus, work: new PendingWorkTracker(bus, () => []) };
  }

  it('a request goes to the newest working subagent of its name; one of a subagent not working is dropped', () => {
    const { bus, work } = tracker();
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h1' });
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h2' });
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'cab', toolCallId: 'h3' });
    bus.publish('subagent.ui.send', request('ui_1', 'desk', 'Which day?'));
    bus.publish('subagent.ui.send', request('ui_2', 'nobody', 'Who?'));
    expect(work.current.subagents.map((s) => [s.toolCallId, s.questions.map((q) => q.requestId)])).toEqual([
      ['h1', []],
      ['h2', ['ui_1']],
      ['h3', []],
    ]);
  });

  it('a subagent ends only by a notification naming its call; one without a call id ends none', () => {
    const { bus, work } = tracker();
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h1' });
    bus.publish('subagent.notification', { sessionId: S, result: null, event: 'failed' });
    bus.publish('subagent.notification', { sessionId: S, result: { toolCallId: 7 }, event: 'failed' });
    bus.publish('subagent.notification', {
      sessionId: S,
      result: { subagentName: 'desk', toolCallId: 'other', text: 'x' },
      event: 'completed',
    });
    expect(work.current.subagents.map((s) => s.toolCallId)).toEqual(['h1']);
  });

  it('an answered question is dropped from the subagent that asked it only', () => {
    const { bus, work } = tracker();
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h1' });
    bus.publish('subagent.ui.send', request('ui_1', 'desk', 'Which day?'));
    bus.publish('subagent.ui.send', request('ui_2', 'desk', 'What time?'));
    bus.publish('subagent.ui.send', request('ui_3', 'desk', 'How many?'));
    bus.publish('subagent.ui.response', { sessionId: S, response: { requestId: 'ui_2', value: 'noon' } });
    bus.publish('subagent.ui.response', { sessionId: S, response: { requestId: 'unknown', value: 'x' } });
    expect(work.current.subagents[0]?.questions).toEqual([
      { requestId: 'ui_1', prompt: 'Which day?' },
      { requestId: 'ui_3', prompt: 'How many?' },
    ]);
  });

  it('what it hands out is a copy: changing it changes nothing tracked', () => {
    const { bus, work } = tracker();
    bus.publish('tool.call', {
      sessionId: S,
      agentName: 'main',
      id: 'c1',
      name: 'report',
      args: {},
      execution: 'background',
    });
    bus.publish('agent.handoff', { sessionId: S, agentName: 'main', subagentName: 'desk', toolCallId: 'h1' });
    bus.publish('subagent.ui.send', request('ui_1', 'desk', 'Which day?'));
    const first = work.current;
    first.tools[0]!.name = 'changed';
    first.subagents[0]!.questions[0]!.prompt = 'changed';
    first.subagents[0]!.questions.push({ requestId: 'x', prompt: 'y' });
    first.subagents[0]!.subagentName = 'changed';
    expect(work.current).toEqual({
      tools: [{ toolCallId: 'c1', name: 'report', agentName: 'main' }],
      subagents: [
        { toolCallId: 'h1', subagentName: 'desk', questions: [{ requestId: 'ui_1', prompt: 'Which day?' }] },
      ],
      notifications: [],
    });
  });

  it('a tool call without an execution is not background work', () => {
    const { bus, work } = tracker();
    bus.publish('tool.call', { sessionId: S, agentName: 'main', id: 'c1', name: 'report', args: {} });
    expect(work.current.tools).toEqual([]);
  });
});

describe('reportInterruptedWork', () => {
  function session() {
    const s = new VoiceSession({
      sessionId: S,
      userId: 'ana',
      agents: [{ name: 'main', instructions: 'Help.' }],
      model: mockLanguageModel(['Sorry.']),
      logger: silentLogger,
    });
    return { s, rec: new EventRecorder(s.eventBus) };
  }

  it('a lost tool: its whole error result, and its note', async () => {
    const { s, rec } = session();
    await s.start();
    const ended = rec.waitFor('turn.end');
    reportInterruptedWork(s, { tools: [tool], subagents: [], notifications: [] });
    const [result] = rec.payloads('tool.result');
    expect(result).toEqual({
      sessionId: S,
      toolCallId: 'c1',
      status: 'error',
      result: { error: 'Tool "report" was interrupted: the server restarted' },
      name: 'report',
      error: expect.objectContaining({
        code: 'tool_interrupted',
        message: 'Tool "report" was interrupted: the server restarted',
      }),
    });
    await ended;
    expect(s.history[0]).toEqual({ role: 'user', content: interruptedToolNote('report', 'c1') });
    await s.close();
  });

  it('nothing to report: no event, no note, no turn', async () => {
    const { s, rec } = session();
    await s.start();
    rec.clear();
    reportInterruptedWork(s, { tools: [], subagents: [], notifications: [] });
    expect(rec.types()).toEqual([]);
    expect(s.pendingNotifications).toEqual([]);
    expect(s.history).toEqual([]);
    await s.close();
  });

  it('a session already started reports at once; one still connecting waits for session.start', async () => {
    const { s, rec } = session();
    await s.start();
    reportWhenStarted(s, { tools: [], subagents: [], notifications: ['[a result]'] });
    expect(rec.payloads('user.text')).toEqual([]);
    expect(s.history[0]).toEqual({ role: 'user', content: '[a result]' });
    await rec.waitFor('turn.end');
    await s.close();
  });
});
