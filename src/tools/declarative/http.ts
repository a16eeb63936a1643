/**
 * `http` tools. The URL is a template (url-template.ts: arguments fill the path and query only,
 * percent-encoded); the remaining arguments go in the query string (GET/DELETE) or a JSON body.
 *
 * Every hop is checked by the `AddressPolicy` (no loopback, private, link-local or metadata
 * addresses unless allowlisted) on the addresses the host resolves to, and the connection goes to the
 * checked address. Redirects are followed by hand (at most 5); the configured headers (e.g. an
 * `authorization` header) are only ever sent to the template's own origin. Responses are bounded in
 * size, JSON is bounded in depth; non-2xx statuses are errors the LLM sees.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ToolError } from '../../errors.ts';
import { checkJsonLimits, parseJsonWithLimits } from '../../json-limits.ts';
import { AddressPolicy, ForbiddenAddressError, type ResolvedAddress } from '../../net/address-policy.ts';
import type { HttpTool } from './schema.ts';
import { expandUrlTemplate, parseUrlTemplate } from './url-template.ts';

const DEFAULT_MAX_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
/** JSON responses deeper than this (or with more values) are refused, not passed on. */
const HTTP_JSON_LIMITS = { maxDepth: 32, maxNodes: 50_000, maxBytes: Number.POSITIVE_INFINITY } as const;
/** Arguments from the model are bounded before they become a URL or a body. */
const ARGS_LIMITS = { maxDepth: 16, maxBytes: 256 * 1024, maxNodes: 10_000 } as const;
const DEFAULT_POLICY = new AddressPolicy();

export interface HttpToolOptions {
  signal?: AbortSignal;
  /** Which addresses may be reached (default: public addresses only). */
  policy?: AddressPolicy;
}

export async function callHttpTool(
  def: HttpTool,
  args: Record<string, unknown>,
  options: HttpToolOptions = {},
): Promise<unknown> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const checked = checkJsonLimits(args, ARGS_LIMITS);
  if (!checked.ok) throw new ToolError('invalid_tool_args', `Tool arguments: ${checked.error.message}`);
  const template = parseUrlTemplate(def.config.url);
  let method: string = def.config.method;
  const inQuery = method === 'GET' || method === 'DELETE';
  const { url: first, rest } = expandUrlTemplate(template, args, inQuery);
  let body: string | undefined = inQuery ? undefined : JSON.stringify(rest);
  const configured = def.config.headers ?? {};

  let url = first;
  for (let hop = 0; ; hop++) {
    const sameOrigin = url.origin === template.origin;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(sameOrigin ? configured : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    const res = await send(url, method, headers, body, policy, options.signal);
    const location = res.headers.location;
    if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new ToolError('http_too_many_redirects', `More than ${MAX_REDIRECTS} redirects`);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ToolError('http_bad_response', 'Redirect to an invalid URL');
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ForbiddenAddressError(`Redirect to a ${next.protocol} URL is refused`);
      }
      if (
        res.statusCode === 303 ||
        ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = undefined;
      }
      url = next;
      continue;
    }
    return readResult(res, url, def.config.max_response_bytes ?? DEFAULT_MAX_BYTES);
  }
}

async function readResult(res: IncomingMessage, url: URL, maxBytes: number): Promise<unknown> {
  const body = await readBounded(res, maxBytes);
  const status = res.statusCode ?? 0;
  const type = String(res.headers['content-type'] ?? '');
  let data: unknown = body.text;
  if (type.includes('json') && !body.truncated && status >= 200 && status < 300) {
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
  if (status < 200 || status >= 300) {
    throw new ToolError('http_status', `HTTP ${status} from ${url.pathname}: ${body.text.slice(0, 300)}`, {
      retryable: status >= 500,
      details: { status },
    });
  }
  return body.truncated ? { truncated: true, body: data } : data;
}

/** One request to the checked address (DNS answered once, then pinned for the connection). */
async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  policy: AddressPolicy,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  signal?.throwIfAborted();
  const target: ResolvedAddress = await policy.resolveAllowed(url.hostname);
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) {
      (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [target]);
    } else callback(null, target.address, target.family);
  };
  const options: RequestOptions = {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    lookup,
    ...(signal ? { signal } : {}),
  };
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = requester(url, options, resolve);
    req.on('error', (cause) => {
      if (signal?.aborted) return reject(signal.reason);
      reject(
        new ToolError('http_unreachable', `${method} ${url.origin}${url.pathname} failed: ${cause.message}`, {
          cause,
          retryable: true,
        }),
      );
    });
    req.end(body);
  });
}

async function readBounded(
  res: IncomingMessage,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size + chunk.byteLength > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - size));
      truncated = true;
      res.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated };
}
