import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ToolError } from '../errors.ts';
import { ClientCalls } from './client-calls.ts';

const call = { toolCallId: 'c1', name: 'pick', args: { a: 1 } };

describe('ClientCalls', () => {
  it('announces a call and resolves it with the matching result', async () => {
    const announced: unknown[] = [];
    const calls = new ClientCalls((c) => announced.push(c));
    const pending = calls.call(call, new AbortController().signal);
    expect(announced).toEqual([call]);
    expect(calls.settle('c1', 'other', 1)).toBe(false); // wrong function name
    expect(calls.settle('c1', 'pick', { ok: true })).toBe(true);
    await expect(pending).resolves.toEqual({ ok: true });
    expect(calls.settle('c1', 'pick', 2)).toBe(false); // settled once
    expect(calls.size).toBe(0);
  });

  it('rejects on abort (timeout, interruption) and when the client goes away', async () => {
    const calls = new ClientCalls(undefined);
    const controller = new AbortController();
    const aborted = calls.call(call, controller.signal);
    controller.abort(new Error('timed out'));
    await expect(aborted).rejects.toThrow('timed out');
    const gone = calls.call({ ...call, toolCallId: 'c2' }, new AbortController().signal);
    calls.rejectAll('bye');
    await expect(gone).rejects.toBeInstanceOf(ToolError);
    expect(calls.size).toBe(0);
  });
});

describe('ClientCalls: bounds and what it releases', () => {
  it('a call whose signal is already aborted fails at once with its reason, never announced', async () => {
    const announced: unknown[] = [];
    const calls = new ClientCalls((c) => announced.push(c));
    const controller = new AbortController();
    const reason = new Error('turn cut');
    controller.abort(reason);
    await expect(calls.call(call, controller.signal)).rejects.toBe(reason);
    expect([announced, calls.size]).toEqual([[], 0]);
  });

  it('at most 64 calls wait at once; the 65th fails with client_calls_full and is not announced', async () => {
    const announced: unknown[] = [];
    const calls = new ClientCalls((c) => announced.push(c));
    // A signal per call: 64 abort listeners on one signal make Node print a MaxListenersExceededWarning.
    const signal = () => new AbortController().signal;
    for (let i = 0; i < 64; i++) void calls.call({ ...call, toolCallId: `c${i}` }, signal()).catch(() => {});
    expect(calls.size).toBe(64);
    const refused = calls.call({ ...call, toolCallId: 'c64' }, signal());
    await expect(refused).rejects.toBeInstanceOf(ToolError);
    await expect(refused).rejects.toMatchObject({
      code: 'client_calls_full',
      message: 'Too many client function calls pending',
    });
    expect([announced.length, calls.size]).toEqual([64, 64]);
    calls.rejectAll('done');
  });

  it('an aborted call stops waiting at once: its result is no longer taken', async () => {
    const calls = new ClientCalls(undefined);
    const controller = new AbortController();
    const pending = calls.call(call, controller.signal);
    controller.abort(new Error('timed out'));
    expect(calls.size).toBe(0);
    expect(calls.settle('c1', 'pick', 1)).toBe(false);
    await expect(pending).rejects.toThrow('timed out');
  });

  it('settled or failed, a call leaves no listener on its signal', async () => {
    const calls = new ClientCalls(undefined);
    const settled = new AbortController();
    const gone = new AbortController();
    const a = calls.call(call, settled.signal);
    const b = calls.call({ ...call, toolCallId: 'c2' }, gone.signal);
    expect([
      getEventListeners(settled.signal, 'abort').length,
      getEventListeners(gone.signal, 'abort').length,
    ]).toEqual([1, 1]);
    calls.settle('c1', 'pick', 'ok');
    calls.rejectAll('the client left');
    await expect(a).resolves.toBe('ok');
    await expect(b).rejects.toMatchObject({ code: 'client_gone', message: 'the client left' });
    expect([
      getEventListeners(settled.signal, 'abort').length,
      getEventListeners(gone.signal, 'abort').length,
    ]).toEqual([0, 0]);
    expect(calls.size).toBe(0);
  });
});
