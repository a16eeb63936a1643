/** Shows the session's stored transcript (`GET /sessions/:id/transcript`) in a dialog, one line per message. */
import { byId } from './dom.ts';

interface StoredMessage {
  role?: unknown;
  content?: unknown;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: unknown; text?: unknown; toolName?: unknown }) => {
      if (part?.type === 'text' && typeof part.text === 'string') return part.text;
      if (typeof part?.toolName === 'string') return `[${part.type} ${part.toolName}]`;
      return '';
    })
    .filter(Boolean)
    .join(' ');
}

export async function openTranscript(url: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { headers });
  const body = (await res.json().catch(() => ({}))) as { info?: unknown; transcript?: unknown };
  if (!res.ok) throw new Error(typeof body.info === 'string' ? body.info : `HTTP ${res.status}`);
  const messages = Array.isArray(body.transcript) ? (body.transcript as StoredMessage[]) : [];
  const lines = messages.map((m) => `${String(m.role)}: ${contentText(m.content)}`);
  byId('transcript-text').textContent = lines.length ? lines.join('\n') : '(nothing said yet)';
  byId<HTMLDialogElement>('transcript-dialog').showModal();
}
