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

/** Chunks `RespParser` keeps apart at most; past it they are gathered into one buffer. */
const MAX_PENDING_CHUNKS = 64;

/** An array whose items are still arriving. */
interface OpenArray {
  items: RespReply[];
  length: number;
}

/** One parse step: a whole value, the header of a non-empty array, or how many bytes it needs. */
type Step = { value: RespReply; end: number } | { array: number; end: number } | { need: number };

/**
 * Incremental reply parser. Resumable: the bytes of a value are joined once they are all there (a
 * large bulk string arriving in many chunks is copied a few times at most, not once per chunk; past
 * 64 chunks they are gathered into one buffer that grows by doubling), and the items of an
 * array already parsed are kept, not parsed again when the rest arrives. The work per byte is then
 * constant, whatever the reply's size or the chunking.
 */
export class RespParser {
  /** Bytes not yet consumed. */
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks received since the last parse, joined only when the next step can complete. */
  private pending: Buffer[] = [];
  /** Bytes received since the last parse: those of `gathered`, then those of `pending`. */
  private pendingBytes = 0;
  /**
   * Earlier chunks since the last parse, copied together once `pending` held MAX_PENDING_CHUNKS
   * (its first `gatheredBytes` bytes; it grows by doubling). Bytes alone would not bound memory: a
   * reply arriving a byte at a time held one Buffer object per byte.
   */
  private gathered: Buffer = Buffer.alloc(0);
  private gatheredBytes = 0;
  /** Bytes (from the start of `buf`) the next step needs before it can complete. */
  private need = 1;
  /** The arrays of the reply in progress, outermost first. */
  private readonly open: OpenArray[] = [];
  /** Bytes of the reply in progress already consumed (dropped from `buf`). */
  private replyConsumed = 0;
  private readonly maxReplyBytes: number;

  constructor(
    private readonly maxBulkBytes = 16 * 1024 * 1024,
    private readonly maxDepth = 8,
    private readonly maxArrayLength = 1_000_000,
  ) {
    this.maxReplyBytes = maxBulkBytes + 64;
  }

  /** Adds bytes; returns the replies now complete, in order. Throws `RespProtocolError`. */
  push(chunk: Buffer): RespReply[] {
    if (chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.buf.length + this.pendingBytes < this.need) {
      this.checkSize(this.buf.length + this.pendingBytes);
      if (this.pending.length >= MAX_PENDING_CHUNKS) this.gather();
      return [];
    }
    const buf =
      this.buf.length === 0 && this.gatheredBytes === 0 && this.pending.length === 1
        ? chunk
        : Buffer.concat([this.buf, this.gathered.subarray(0, this.gatheredBytes), ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
    this.gathered = Buffer.alloc(0);
    this.gatheredBytes = 0;
    const out: RespReply[] = [];
    let at = 0;
    let replyStart = 0;
    for (;;) {
      const s = this.step(buf, at);
      if ('need' in s) {
        this.need = s.need - at;
        break;
      }
      at = s.end;
      if ('array' in s) {
        this.open.push({ items: [], length: s.array });
        continue;
      }
      if (this.deliver(s.value, out)) {
        replyStart = at;
        this.replyConsumed = 0;
      }
    }
    if (this.open.length > 0 || at > replyStart) this.replyConsumed += at - replyStart;
    this.buf = buf.subarray(at);
    this.checkSize(this.buf.length);
    return out;
  }

  /** Puts a whole value into the innermost open array (closing the arrays it fills); true when a reply ended. */
  private deliver(value: RespReply, out: RespReply[]): boolean {
    let v = value;
    for (;;) {
      const top = this.open[this.open.length - 1];
      if (top === undefined) {
        out.push(v);
        return true;
      }
      top.items.push(v);
      if (top.items.length < top.length) return false;
      this.open.pop();
      v = top.items;
    }
  }

  /** Moves the pending chunks into `gathered`: each byte is copied a bounded number of times. */
  private gather(): void {
    if (this.pendingBytes > this.gathered.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.pendingBytes, this.gathered.length * 2));
      this.gathered.copy(grown, 0, 0, this.gatheredBytes);
      this.gathered = grown;
    }
    for (const c of this.pending) this.gatheredBytes += c.copy(this.gathered, this.gatheredBytes);
    this.pending = [];
  }

  private checkSize(buffered: number): void {
    if (this.replyConsumed + buffered > this.maxReplyBytes) throw new RespProtocolError('reply too large');
  }

  private line(buf: Buffer, at: number): { text: string; end: number } | undefined {
    const i = buf.indexOf('\r\n', at);
    if (i < 0) {
      if (buf.length - at > 4096) throw new RespProtocolError('header line too long');
      return undefined;
    }
    return { text: buf.toString('utf8', at + 1, i), end: i + 2 };
  }

  private step(buf: Buffer, at: number): Step {
    if (at >= buf.length) return { need: at + 1 };
    if (this.open.length > this.maxDepth) throw new RespProtocolError('reply nested too deep');
    const type = String.fromCharCode(buf[at]!);
    const l = this.line(buf, at);
    if (!l) return { need: buf.length + 1 };
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
        if (buf.length < l.end + len + 2) return { need: l.end + len + 2 };
        if (buf[l.end + len] !== 13 || buf[l.end + len + 1] !== 10) {
          throw new RespProtocolError('bulk string not followed by CRLF');
        }
        return { value: buf.toString('utf8', l.end, l.end + len), end: l.end + len + 2 };
      }
      case '*': {
        const len = lengthOf(l.text);
        if (len < 0) return { value: null, end: l.end };
        if (len > this.maxArrayLength) throw new RespProtocolError('array too long');
        return len === 0 ? { value: [], end: l.end } : { array: len, end: l.end };
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
