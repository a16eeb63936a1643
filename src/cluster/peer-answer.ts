/**
 * What a node takes from another node: the peer's URL as Redis has it (an http(s) origin, checked
 * before anything is sent there) and its answer, read as a stream up to a size cap, so a broken or
 * hostile peer (or a forged registry entry) cannot make this node buffer without bound.
 */

/** Largest answer to a connect handed to another node (its URLs and token: a few hundred bytes). */
export const CONNECT_ANSWER_MAX_BYTES = 64 * 1024;
/** Largest answer of another node to a session or transcript request (transcripts are paged). */
export const SESSION_ANSWER_MAX_BYTES = 8 * 1024 * 1024;

/** The peer URL of a registry entry as an http(s) origin, or undefined when it is not one. */
export function peerOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) {
    return undefined;
  }
  return u.origin;
}

/** The answer was larger than the cap (the rest was not read). */
export class PeerAnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the other node answered more than ${maxBytes} bytes`);
    this.name = 'PeerAnswerTooLarge';
  }
}

/**
 * The body of `res`, read chunk by chunk: throws `PeerAnswerTooLarge` (and cancels the stream) as soon
 * as it passes `maxBytes`, whatever `content-length` claims.
 */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new PeerAnswerTooLarge(maxBytes);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new PeerAnswerTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
