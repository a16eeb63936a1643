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
