/**
 * What a client may see of server-side failures and tool results. Operators get the full detail in
 * the server log; a client (browser, app) gets a bounded, redacted view:
 *
 *   - a tool result over `CLIENT_RESULT_LIMITS` (size, depth, values) is replaced by
 *     `{omitted: true, reason}`; a failed tool shows only `{error: <code>}` (no upstream bodies,
 *     no internal URLs)
 *   - a model provider's error (LLM, STT, TTS, VAD: its text may echo the API key or the system
 *     prompt) shows only `<component> failed (<code>)`; other errors are cut to 300 characters with
 *     anything that looks like a credential or a URL masked
 */
import { type ColloquyError, ProviderError } from '../errors.ts';
import { checkJsonLimits } from '../json-limits.ts';

/** Largest tool result a client receives as is. */
export const CLIENT_RESULT_LIMITS = { maxBytes: 16 * 1024, maxDepth: 16, maxNodes: 2000 } as const;
const MAX_ERROR_CHARS = 300;

type ToolStatus = 'success' | 'error' | 'timeout' | 'cancelled';

/** The result of a tool call as a client may see it. */
export function clientToolResult(status: ToolStatus, result: unknown, error?: ColloquyError): unknown {
  if (status === 'cancelled') return undefined;
  if (status !== 'success')
    return { error: error?.code ?? (status === 'timeout' ? 'timeout' : 'tool_failed') };
  const checked = checkJsonLimits(result, CLIENT_RESULT_LIMITS);
  return checked.ok ? result : { omitted: true, reason: checked.error.kind };
}

const PROVIDER_COMPONENTS = /^(llm|stt|tts|vad|realtime|memory)(:|$)/;
const SECRET =
  /\b(?:sk|pk|rk|gsk|xai|key)[-_][A-Za-z0-9_-]{8,}|\bBearer\s+[^\s,;]+|\b(?:api[_-]?key|token|secret|password|authorization)\b\s*["':=]\s*["']?(?:Bearer\s+)?[^\s"',;}]+|\bAIza[0-9A-Za-z_-]{20,}/gi;
const URL_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Masks credentials and URLs in a text and bounds its length. */
export function redactText(text: string, maxChars = MAX_ERROR_CHARS): string {
  const clipped = text.length > maxChars * 4 ? text.slice(0, maxChars * 4) : text;
  const masked = clipped.replace(SECRET, '[redacted]').replace(URL_TEXT, '[url]');
  return masked.length > maxChars ? `${masked.slice(0, maxChars)}…` : masked;
}

/** The text of an `error` event as a client may see it. */
export function clientErrorText(component: string, error: ColloquyError): string {
  if (error instanceof ProviderError || PROVIDER_COMPONENTS.test(component)) {
    return `${component} failed (${error.code})`;
  }
  return redactText(error.message);
}
