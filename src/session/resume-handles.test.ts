import { describe, expect, it } from 'vitest';
import { hashHandle, ResumeError, ResumeHandles } from './resume-handles.ts';

describe('ResumeHandles', () => {
  it("current(): the session's live handle by hash, gone once used", () => {
    const handles = new ResumeHandles(100, () => 1000);
    const { handle, expiresAt } = handles.issue('s1', 'ana', 500);
    expect(handles.current('s1')).toEqual({ handleHash: hashHandle(handle), userId: 'ana', expiresAt });
    handles.redeem(handle, 'ana');
    expect(handles.current('s1')).toBeUndefined();
  });

  it("adopt(): a stored handle's hash is honoured once, bound to its user; an expired one is not taken", () => {
    let now = 1000;
    const handles = new ResumeHandles(100, () => now);
    handles.adopt(hashHandle('stored-handle'), 's1', 'ana', 2000);
    handles.adopt(hashHandle('old-handle'), 's2', 'bo', 900);
    expect(() => handles.redeem('stored-handle', 'mallory')).toThrow(
      expect.objectContaining({
        code: 'resume_foreign',
        message: 'This resume handle belongs to another user',
      }),
    );
    expect(handles.redeem('stored-handle', 'ana')).toEqual({ sessionId: 's1', userId: 'ana' });
    expect(() => handles.redeem('stored-handle', 'ana')).toThrow(
      expect.objectContaining({ code: 'resume_used' }),
    );
    expect(() => handles.redeem('old-handle')).toThrow(
      expect.objectContaining({ code: 'resume_unknown', message: 'Unknown resume handle' }),
    );
    handles.adopt(hashHandle('later'), 's3', 'cy', 1500);
    now = 1600;
    const expired = expect.objectContaining({
      code: 'resume_expired',
      message: 'The resume handle has expired',
    });
    expect(() => handles.redeem('later')).toThrow(expired);
    expect(() => handles.redeem('later')).toThrow(expired); // and again: it is remembered as expired
  });

  it('spent handles are remembered up to maxHandles, the oldest forgotten first (the memory is bounded)', () => {
    const handles = new ResumeHandles(2, () => 1000);
    // Issued and used one after another: three spent, two remembered.
    const used = ['s1', 's2', 's3'].map((s) => {
      const { handle } = handles.issue(s, 'ana', 500);
      handles.redeem(handle);
      return handle;
    });
    expect(() => handles.redeem(used[0]!)).toThrow(expect.objectContaining({ code: 'resume_unknown' }));
    expect(() => handles.redeem(used[1]!)).toThrow(expect.objectContaining({ code: 'resume_used' }));
    expect(() => handles.redeem(used[2]!)).toThrow(expect.objectContaining({ code: 'resume_used' }));
  });

  it('each refusal answers with its HTTP status', () => {
    const statuses = Object.fromEntries(
      (['resume_unknown', 'resume_used', 'resume_expired', 'resume_gone', 'resume_foreign'] as const).map(
        (code) => [code, new ResumeError(code, 'x').status],
      ),
    );
    expect(statuses).toEqual({
      resume_unknown: 404,
      resume_used: 409,
      resume_expired: 410,
      resume_gone: 410,
      resume_foreign: 403,
    });
  });
});
