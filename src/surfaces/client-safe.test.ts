import { describe, expect, it } from 'vitest';
import { ColloquyError, ProviderError, ToolError } from '../errors.ts';
import { clientErrorText, clientToolResult, redactText } from './client-safe.ts';

describe('what a client may see', () => {
  it('tool results pass as they are when small, are omitted when over the limits', () => {
    expect(clientToolResult('success', { color: 'teal' })).toEqual({ color: 'teal' });
    expect(clientToolResult('success', 'x'.repeat(5 * 1024 * 1024))).toEqual({
      omitted: true,
      reason: 'too_large',
    });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(clientToolResult('success', deep)).toEqual({ omitted: true, reason: 'too_deep' });
    expect(clientToolResult('cancelled', undefined)).toBeUndefined();
  });

  it('a failed tool shows its code only: no upstream body, no internal URL', () => {
    const error = new ToolError(
      'http_status',
      'HTTP 500 from /internal/admin: <html>stack trace at 10.0.0.5</html>',
    );
    expect(clientToolResult('error', 'HTTP 500 from /internal/admin: <html>…', error)).toEqual({
      error: 'http_status',
    });
    expect(clientToolResult('timeout', undefined)).toEqual({ error: 'timeout' });
  });

  it('provider errors show the component and code; others are masked and bounded', () => {
    const echo = new ProviderError(
      'llm_stream_failed',
      'Incorrect API key sk-abc123456789; prompt: be secret',
    );
    expect(clientErrorText('llm', echo)).toBe('llm failed (llm_stream_failed)');
    expect(clientErrorText('tts', new ColloquyError('tts_failed', 'TTS said key=abc'))).toBe(
      'tts failed (tts_failed)',
    );
    expect(redactText('Authorization: Bearer abc.def token=xyz http://10.0.0.1/a?b=c done')).toBe(
      '[redacted] [redacted] [url] done',
    );
    expect(redactText('z'.repeat(1000))).toHaveLength(301);
  });
});
