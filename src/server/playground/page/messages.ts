/** Readable text for the messages the console reports (errors, session ends). */

const COMPONENTS: Record<string, string> = {
  stt: 'Speech recognition',
  tts: 'Speech synthesis',
  llm: 'The language model',
  vad: 'Voice detection',
  tool: 'A tool',
  session: 'The session',
  transport: 'The connection',
};

/** `pipeline-error {processor, error}` → "Speech recognition failed: …". */
export function pipelineErrorText(data: { processor?: unknown; error?: unknown }): string {
  const processor = typeof data.processor === 'string' ? data.processor : '';
  const who = COMPONENTS[processor] ?? (processor ? `The ${processor} step` : 'The pipeline');
  return `${who} failed: ${errorText(data.error)}`;
}

/** The text of an error-ish value (string, Error, `{message}`, `{error}`, `{info}`), never raw JSON twice. */
export function errorText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of ['message', 'error', 'info', 'detail']) {
      if (typeof o[key] === 'string' && o[key]) return o[key] as string;
    }
    if (o.data !== undefined) return errorText(o.data);
  }
  return 'Unknown error';
}

export type EndKind = 'ok' | 'notice';

/** `conversation-end {reason}` → what to tell the user and how loudly. */
export function sessionEndText(reason: unknown): { kind: EndKind; text: string } {
  switch (reason) {
    case 'client_disconnected':
      return { kind: 'ok', text: 'Session ended.' };
    case 'server_shutdown':
      return {
        kind: 'notice',
        text: 'The server shut down, so the session ended. Reconnect when it is back.',
      };
    case 'idle_timeout':
      return { kind: 'notice', text: 'The session ended after a long silence. Connect again to go on.' };
    case 'end_call':
    case 'completed':
      return { kind: 'ok', text: 'The agent ended the call.' };
    default:
      return {
        kind: 'notice',
        text: `The session ended (${typeof reason === 'string' ? reason : 'no reason given'}).`,
      };
  }
}
