/** RESP2 encoding and incremental parsing, with hostile replies refused. */
import { describe, expect, it } from 'vitest';
import { encodeCommand, RespErrorReply, RespParser, RespProtocolError } from './resp.ts';

describe('RESP', () => {
  it('encodes a command as an array of bulk strings (UTF-8 lengths in bytes)', () => {
    expect(encodeCommand(['SET', 'k', 'é', 42]).toString()).toBe(
      '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$2\r\n42\r\n',
    );
  });

  it('parses every reply type, nested, null bulk and null array', () => {
    const p = new RespParser();
    const bytes = Buffer.from(
      '+OK\r\n-NOSCRIPT No matching script\r\n:-7\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n',
    );
    const [ok, err, n, bulk, nullBulk, nullArray, nested] = p.push(bytes);
    expect(ok).toBe('OK');
    expect(err).toBeInstanceOf(RespErrorReply);
    expect((err as RespErrorReply).kind).toBe('NOSCRIPT');
    expect(n).toBe(-7);
    expect(bulk).toBe('hello');
    expect(nullBulk).toBeNull();
    expect(nullArray).toBeNull();
    expect(nested).toEqual([1, ['a', null], 'x']);
  });

  it('waits for a reply split anywhere, byte by byte, and keeps the rest for the next one', () => {
    const p = new RespParser();
    const bytes = Buffer.from('*2\r\n$6\r\nhéllo\r\n:12\r\n+NEXT\r\n');
    const out = [];
    for (let i = 0; i < bytes.length; i++) out.push(...p.push(bytes.subarray(i, i + 1)));
    expect(out).toEqual([['héllo', 12], 'NEXT']);
  });

  it('refuses oversized bulk strings, too deep nesting, bad lengths and unknown types', () => {
    expect(() => new RespParser(10).push(Buffer.from('$11\r\n'))).toThrow(RespProtocolError);
    expect(() => new RespParser(100, 2).push(Buffer.from('*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n'))).toThrow(/deep/);
    expect(() => new RespParser().push(Buffer.from('$abc\r\n'))).toThrow(/bad length/);
    expect(() => new RespParser().push(Buffer.from('$-5\r\n'))).toThrow(/bad length/);
    expect(() => new RespParser().push(Buffer.from('?what\r\n'))).toThrow(/unknown reply type/);
    expect(() => new RespParser().push(Buffer.from('$2\r\nabc\r\n'))).toThrow(/CRLF/);
    expect(() => new RespParser().push(Buffer.from(`+${'x'.repeat(5000)}`))).toThrow(/too long/);
    expect(() => new RespParser(100, 8, 10).push(Buffer.from('*11\r\n'))).toThrow(/too long/);
  });

  it('keeps the items of an array already parsed while the rest arrives', () => {
    const p = new RespParser();
    expect(p.push(Buffer.from('*3\r\n:1\r\n'))).toEqual([]);
    expect(p.push(Buffer.from('$2\r\nab'))).toEqual([]);
    expect(p.push(Buffer.from('\r\n'))).toEqual([]);
    expect(p.push(Buffer.from('*2\r\n:3\r\n:4\r\n+NEXT\r\n'))).toEqual([[1, 'ab', [3, 4]], 'NEXT']);
  });

  it('returns a bulk string sent in many chunks once, whole, when its last byte arrives', () => {
    const p = new RespParser();
    const body = Buffer.alloc(1 << 20);
    for (let i = 0; i < body.length; i++) body[i] = 97 + (i % 26);
    const bytes = Buffer.concat([Buffer.from(`$${body.length}\r\n`), body, Buffer.from('\r\n:7\r\n')]);
    const out = [];
    for (let i = 0; i < bytes.length; i += 1000) {
      const got = p.push(bytes.subarray(i, i + 1000));
      if (i + 1000 < bytes.length - 4) expect(got).toEqual([]);
      out.push(...got);
    }
    expect(out).toEqual([body.toString('latin1'), 7]);
  });

  it('bounds one reply, not the connection: many small items past the limit are refused', () => {
    const p = new RespParser(100);
    const items = Buffer.from(`*200\r\n${':1\r\n'.repeat(200)}`);
    expect(() => {
      for (let i = 0; i < items.length; i += 8) p.push(items.subarray(i, i + 8));
    }).toThrow(/reply too large/);
    const q = new RespParser(100);
    const replies = [];
    for (let i = 0; i < 200; i++) replies.push(...q.push(Buffer.from('+OK\r\n')));
    expect(replies).toHaveLength(200);
    expect(q.push(Buffer.from(':5\r\n'.repeat(100)))).toHaveLength(100);
  });

  it('holds a reply arriving in tiny (or empty) chunks in a bounded number of chunks', () => {
    const p = new RespParser();
    const body = 'abcdefghij'.repeat(10_000);
    const bytes = Buffer.from(`$${body.length}\r\n${body}\r\n:7\r\n`);
    const held = () => (p as unknown as { pending: Buffer[] }).pending.length;
    const out = [];
    let most = 0;
    for (let i = 0; i < bytes.length; i++) {
      out.push(...p.push(bytes.subarray(i, i + 1)));
      out.push(...p.push(Buffer.alloc(0)));
      most = Math.max(most, held());
    }
    expect(out).toEqual([body, 7]);
    expect(most).toBeLessThanOrEqual(64);
  });

  it('gives the same replies however the bytes are cut (200 random streams, random cuts)', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const reply = (depth: number): string => {
      switch (rand(depth > 2 ? 4 : 5)) {
        case 0:
          return `+s${rand(100)}\r\n`;
        case 1:
          return `:${rand(1000) - 500}\r\n`;
        case 2: {
          const text = 'é'.repeat(rand(3)) + 'x'.repeat(rand(40));
          return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
        }
        case 3:
          return rand(2) === 0 ? '$-1\r\n' : '*-1\r\n';
        default: {
          const n = rand(5);
          let out = `*${n}\r\n`;
          for (let i = 0; i < n; i++) out += reply(depth + 1);
          return out;
        }
      }
    };
    for (let run = 0; run < 200; run++) {
      let text = '';
      for (let i = 1 + rand(6); i > 0; i--) text += reply(0);
      const bytes = Buffer.from(text);
      const whole = new RespParser().push(bytes);
      const cut = new RespParser();
      const got = [];
      for (let at = 0; at < bytes.length; ) {
        const next = at + 1 + rand(12);
        got.push(...cut.push(bytes.subarray(at, next)));
        at = next;
      }
      expect(got).toEqual(whole);
    }
  });
});
