/**
 * JSON from outside (client messages, tool results, HTTP responses, provider payloads) is bounded
 * before any other code walks it: nesting depth, total size and node count. Everything here is
 * iterative (an explicit stack, never recursion), so a hostile 100 000-level document costs one
 * linear scan and a typed error, not a stack overflow.
 *
 *   parseJsonWithLimits(text)  measures the text (size, depth outside strings) before JSON.parse
 *   checkJsonLimits(value)     measures an already-parsed value (depth, nodes, string bytes)
 */
import { InvalidInputError } from './errors.ts';

export interface JsonLimits {
  /** Deepest nesting of objects/arrays (the top-level value is depth 1). Default 64. */
  maxDepth?: number;
  /** Largest JSON text in bytes (UTF-8). Default 1 MiB. */
  maxBytes?: number;
  /** Most values (objects, arrays, primitives) in a parsed value. Default 100 000. */
  maxNodes?: number;
}

/**
 * @example
 * ```ts
 * import { DEFAULT_JSON_LIMITS, parseJsonWithLimits } from 'colloquy';
 *
 * // the defaults, with a smaller size limit for one endpoint
 * const result = parseJsonWithLimits('{"a":1}', { ...DEFAULT_JSON_LIMITS, maxBytes: 16 * 1024 });
 * ```
 */
export const DEFAULT_JSON_LIMITS: Readonly<Required<JsonLimits>> = Object.freeze({
  maxDepth: 64,
  maxBytes: 1024 * 1024,
  maxNodes: 100_000,
});

export type JsonLimitKind = 'too_deep' | 'too_large' | 'too_many_nodes' | 'malformed';

/**
 * JSON refused at the edge; `code` is `json_<kind>`.
 *
 * @example
 * ```ts
 * import { JsonLimitError, parseJsonWithLimits } from 'colloquy';
 *
 * function parseOrThrow(text: string): unknown {
 *   const result = parseJsonWithLimits(text, { maxDepth: 16 });
 *   if (!result.ok) throw result.error; // a JsonLimitError: code json_too_deep, json_too_large, …
 *   return result.value;
 * }
 * try {
 *   parseOrThrow('[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]');
 * } catch (err) {
 *   if (err instanceof JsonLimitError) console.warn(err.kind); // 'too_deep'
 * }
 * ```
 */
export class JsonLimitError extends InvalidInputError {
  readonly kind: JsonLimitKind;
  constructor(kind: JsonLimitKind, message: string, cause?: unknown) {
    super(`json_${kind}`, message, { cause, details: { kind } });
    this.kind = kind;
  }
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; error: JsonLimitError };

function resolved(limits: JsonLimits | undefined): Required<JsonLimits> {
  return {
    maxDepth: limits?.maxDepth ?? DEFAULT_JSON_LIMITS.maxDepth,
    maxBytes: limits?.maxBytes ?? DEFAULT_JSON_LIMITS.maxBytes,
    maxNodes: limits?.maxNodes ?? DEFAULT_JSON_LIMITS.maxNodes,
  };
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Deepest `{`/`[` nesting in a JSON text, not counting brackets inside strings. Stops counting (and
 * returns) as soon as `stopAbove` is exceeded. Malformed text gets a number too; JSON.parse judges it.
 */
export function jsonTextDepth(text: string, stopAbove = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
      continue;
    }
    if (ch === QUOTE) inString = true;
    else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) depth--;
  }
  return max;
}

/** UTF-8 length of a string, measured only when it could exceed `max` (UTF-16 unit ≤ 3 bytes). */
function exceedsBytes(text: string, max: number): boolean {
  return text.length > max || (text.length * 3 > max && Buffer.byteLength(text, 'utf8') > max);
}

/**
 * Parses JSON text after checking its size and depth. Never throws.
 *
 * @example
 * ```ts
 * import { parseJsonWithLimits } from 'colloquy';
 *
 * // untrusted JSON from a socket: size, depth and node count are checked before it is used
 * const result = parseJsonWithLimits('{"type":"ping"}', { maxBytes: 64 * 1024, maxDepth: 8 });
 * if (result.ok) console.log(result.value);
 * else console.warn(result.error.code, result.error.message); // e.g. json_too_large
 * ```
 */
export function parseJsonWithLimits(text: string, limits?: JsonLimits): JsonResult {
  const l = resolved(limits);
  if (exceedsBytes(text, l.maxBytes)) {
    return refuse('too_large', `JSON is larger than ${l.maxBytes} bytes`);
  }
  if (jsonTextDepth(text, l.maxDepth) > l.maxDepth) {
    return refuse('too_deep', `JSON is nested deeper than ${l.maxDepth} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return refuse('malformed', 'Not valid JSON', cause);
  }
  // Depth and size held; the node count is the last bound.
  return checkJsonLimits(value, { ...l, maxBytes: Number.POSITIVE_INFINITY });
}

/** Like `parseJsonWithLimits`, throwing the `JsonLimitError`. */
export function parseJsonOrThrow(text: string, limits?: JsonLimits): unknown {
  const r = parseJsonWithLimits(text, limits);
  if (!r.ok) throw r.error;
  return r.value;
}

/**
 * Checks an already-parsed value: depth, node count and (approximate) serialized size — string
 * lengths plus keys, without serializing. A cycle is infinitely deep, so it is refused as too deep.
 * Never throws.
 *
 * @example
 * ```ts
 * import { checkJsonLimits } from 'colloquy';
 *
 * // a value already parsed by someone else (a framework's body parser)
 * function acceptBody(body: unknown): void {
 *   const check = checkJsonLimits(body, { maxDepth: 16, maxNodes: 10_000 });
 *   if (!check.ok) throw check.error; // JsonLimitError
 * }
 * ```
 */
export function checkJsonLimits(value: unknown, limits?: JsonLimits): JsonResult {
  const l = resolved(limits);
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'string' && exceedsBytes(value, l.maxBytes)) {
      return refuse('too_large', `JSON is larger than ${l.maxBytes} bytes`);
    }
    return { ok: true, value };
  }
  // Iterative walk: (value, depth) pairs on an explicit stack.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  let nodes = 0;
  let bytes = 0;
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() as number;
    nodes++;
    if (nodes > l.maxNodes) return refuse('too_many_nodes', `JSON has more than ${l.maxNodes} values`);
    if (typeof v === 'string') bytes += v.length + 2;
    else if (v === null || typeof v !== 'object') bytes += 8;
    else {
      if (depth > l.maxDepth) return refuse('too_deep', `JSON is nested deeper than ${l.maxDepth} levels`);
      if (Array.isArray(v)) {
        bytes += 2 + v.length;
        for (let i = v.length - 1; i >= 0; i--) {
          values.push(v[i]);
          depths.push(depth + 1);
        }
      } else {
        for (const key of Object.keys(v)) {
          bytes += key.length + 4;
          values.push((v as Record<string, unknown>)[key]);
          depths.push(depth + 1);
        }
      }
    }
    if (bytes > l.maxBytes) return refuse('too_large', `JSON is larger than ${l.maxBytes} bytes`);
  }
  return { ok: true, value };
}

/** Like `checkJsonLimits`, throwing the `JsonLimitError`. */
export function assertJsonLimits<T>(value: T, limits?: JsonLimits): T {
  const r = checkJsonLimits(value, limits);
  if (!r.ok) throw r.error;
  return value;
}

function refuse(kind: JsonLimitKind, message: string, cause?: unknown): { ok: false; error: JsonLimitError } {
  return { ok: false, error: new JsonLimitError(kind, message, cause) };
}
