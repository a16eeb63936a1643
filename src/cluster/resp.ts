/**
 * RESP2, the Redis wire protocol: commands are arrays of bulk strings; replies are simple strings,
 * errors, integers, bulk strings (or null) and arrays (or null), nested. `RespParser` takes bytes as
 * they arrive and yields whole replies; it refuses a reply larger or deeper than its bounds (the
 * connection is then unusable and must be closed).
 */

/** An error reply (`-ERR …`, `-NOSCRIPT …`): the command failed, the connection is fine. */
export class RespErrorReply extends Error {
  /** The first word of the message (`ERR`, `NOSCRIPT`, `WRONGTYPE`…). */
  readonly kind: string;
  constructor(message: string) {
    super(message);
    this.name = 'RespErrorReply';
    this.kind = message.split(' ', 1)[0] ?? 'ERR';
  }
}

export type RespReply = string | number | null | RespErrorReply | RespReply[];

/** One command as RESP bytes. */
export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export class RespProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespProtocolError';
  }
}

/** Incremental reply parser. */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxBulkBytes = 16 * 1024 * 1024,
    private readonly maxDepth = 8,
    private readonly maxArrayLength = 1_000_000,
  ) {}

  /** Adds bytes; returns the replies now complete, in order. Throws `RespProtocolError`. */
  push(chunk: Buffer): RespReply[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RespReply[] = [];
    for (;;) {
      const r = this.parse(0, 0);
      if (!r) break;
      out.push(r.value);
      this.buf = this.buf.subarray(r.end);
    }
    if (this.buf.length > this.maxBulkBytes + 64) throw new RespProtocolError('reply too large');
    return out;
  }

  private line(at: number): { text: string; end: number } | undefined {
    const i = this.buf.indexOf('\r\n', at);
    if (i < 0) {
      if (this.buf.length - at > 4096) throw new RespProtocolError('header line too long');
      return undefined;
    }
    return { text: this.buf.toString('utf8', at + 1, i), end: i + 2 };
  }

  private parse(at: number, depth: number): { value: RespReply; end: number } | undefined {
    if (at >= this.buf.length) return undefined;
    if (depth > this.maxDepth) throw new RespProtocolError('reply nested too deep');
    const type = String.fromCharCode(this.buf[at]!);
    const l = this.line(at);
    if (!l) return undefined;
    switch (type) {
      case '+':
        return { value: l.text, end: l.end };
      case '-':
        return { value: new RespErrorReply(l.text), end: l.end };
      case ':': {
        const n = Number(l.text);
        if (!Number.isFinite(n)) throw new RespProtocolError(`bad integer "${l.text.slice(0, 20)}"`);
        return { value: n, end: l.end };
      }
      case '$': {
        const len = lengthOf(l.text);
        if (len < 0) return { value: null, end: l.end };
        if (len > this.maxBulkBytes) throw new RespProtocolError('bulk string too large');
        if (this.buf.length < l.end + len + 2) return undefined;
        if (this.buf[l.end + len] !== 13 || this.buf[l.end + len + 1] !== 10) {
          throw new RespProtocolError('bulk string not followed by CRLF');
        }
        return { value: this.buf.toString('utf8', l.end, l.end + len), end: l.end + len + 2 };
      }
      case '*': {
        const len = lengthOf(l.text);
        if (len < 0) return { value: null, end: l.end };
        if (len > this.maxArrayLength) throw new RespProtocolError('array too long');
        const items: RespReply[] = [];
        let end = l.end;
        for (let i = 0; i < len; i++) {
          const r = this.parse(end, depth + 1);
          if (!r) return undefined;
          items.push(r.value);
          end = r.end;
        }
        return { value: items, end };
      }
      default:
        throw new RespProtocolError(`unknown reply type ${JSON.stringify(type)}`);
    }
  }
}

function lengthOf(text: string): number {
  if (!/^-?\d{1,10}$/.test(text)) throw new RespProtocolError(`bad length "${text.slice(0, 20)}"`);
  const n = Number(text);
  if (n < -1) throw new RespProtocolError(`bad length ${n}`);
  return n;
}
