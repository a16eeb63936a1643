import { describe, expect, it } from 'vitest';
import type { ResumeSnapshot } from '../store/types.ts';
import { hashHandle, ResumeHandles } from './resume-handles.ts';
import { WaitingSessions } from './waiting-sessions.ts';

const stored = (sessionId: string, userId: string): ResumeSnapshot => ({
  sessionId,
  userId,
  agentName: 'main',
  profile: undefined,
  history: [{ role: 'user', content: 'hi' }],
  handleHash: hashHandle(`handle-of-${sessionId}`),
  expiresAt: Date.now() + 60_000,
  updatedAt: Date.now(),
});

describe('sessions waiting for their clients after a restart', () => {
  it("forgetUser(): that user's waiting sessions stop waiting and their handles stop working; other users' stay", () => {
    const handles = new ResumeHandles();
    const waiting = new WaitingSessions(handles, 60_000);
    waiting.adopt(stored('s1', 'ana'));
    waiting.adopt(stored('s2', 'ana'));
    waiting.adopt(stored('s3', 'bo'));
    waiting.forgetUser('ana');
    expect([waiting.has('s1'), waiting.has('s2'), waiting.has('s3')]).toEqual([false, false, true]);
    expect(() => handles.redeem('handle-of-s1', 'ana')).toThrow(
      expect.objectContaining({ code: 'resume_gone' }),
    );
    expect(handles.redeem('handle-of-s3', 'bo')).toEqual({ sessionId: 's3', userId: 'bo' });
    waiting.dispose();
  });
});
