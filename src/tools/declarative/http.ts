/**
 * `http` tools: `{{arg}}` placeholders in the URL are filled from the arguments (URL-encoded); the
 * remaining arguments go in the query string (GET/DELETE) or a JSON body. Responses are bounded in
 * size, parsed as JSON when they say so, and non-2xx statuses are errors the LLM sees.
 */
import { ToolError } from '../../errors.ts';
import { parseJsonWithLimits } from '../../json-limits.ts';
import type { HttpTool } from './schema.ts';

const DEFAULT_MAX_BYTES = 64 * 1024;
/** JSON responses deeper than this (or with more values) are refused, not passed on. */
const HTTP_JSON_LIMITS = { maxDepth: 32, maxNodes: 50_000, maxBytes: Number.POSITIVE_INFINITY } as const;

export async function callHttpTool(
  def: HttpTool,
  args: Record<string, unknown>,
  signal: AbortSignal | undefined,
  doFetch: typeof fetch,
): Promise<unknown> {
  const rest: Record<string, unknown> = { ...args };
  const url = new URL(
    def.config.url.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) => {
      const v = rest[key];
      delete rest[key];
      return encodeURIComponent(v === undefined || v === null ? '' : String(v));
    }),
  );
  const method = def.config.method;
  const init: RequestInit = {
    method,
    headers: { accept: 'application/json', ...(def.config.headers ?? {}) },
    signal,
  };
  if (method === 'GET' || method === 'DELETE') {
    for (const [k, v] of Object.entries(rest)) {
      if (v !== undefined && v !== null)
        url.searchParams.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
  } else {
    init.body = JSON.stringify(rest);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await doFetch(url, init);
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw new ToolError(
      'http_unreachable',
      `${method} ${url.origin}${url.pathname} failed: ${(cause as Error).message}`,
      {
        cause,
        retryable: true,
      },
    );
  }
  const body = await readBounded(res, def.config.max_response_bytes ?? DEFAULT_MAX_BYTES);
  const type = res.headers.get('content-type') ?? '';
  let data: unknown = body.text;
  if (type.includes('json') && !body.truncated) {
    // Bounded before the result travels on (history, the LLM, the client): depth and node count.
    const parsed = parseJsonWithLimits(body.text, HTTP_JSON_LIMITS);
    if (!parsed.ok) {
      throw new ToolError(
        'http_bad_response',
        parsed.error.kind === 'malformed'
          ? `${url.pathname} said it returned JSON but the body is not valid JSON`
          : `${url.pathname} returned JSON over the limits: ${parsed.error.message}`,
        { cause: parsed.error },
      );
    }
    data = parsed.value;
  }
  if (!res.ok) {
    throw new ToolError(
      'http_status',
      `HTTP ${res.status} from ${url.pathname}: ${body.text.slice(0, 300)}`,
      {
        retryable: res.status >= 500,
        details: { status: res.status },
      },
    );
  }
  return body.truncated ? { truncated: true, body: data } : data;
}

async function readBounded(res: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}
