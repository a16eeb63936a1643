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
});
