/**
 * Strict check of a client's SDP offer before it reaches the native WebRTC stack. `@roamhq/wrtc`
 * crashes the whole process (a segfault, which nothing can catch) on some malformed offers, e.g. an
 * unknown media type on an `m=` line, so only what the SmallWebRTC transport uses gets through:
 *
 *   - bounded size, line count and line length; printable ASCII only; known line types
 *   - `m=` lines of `audio`/`video` (RTP profiles, numeric payload types) or `application`
 *     (SCTP data channels), nothing else
 *   - every media section has ICE credentials and a DTLS fingerprint (session or media level)
 *
 * The offer is parsed with `sdp-transform` after the line check; its output is judged, the offer text
 * itself is what goes on to the stack. ICE candidates (the PATCH route) are checked the same way.
 */
import { createRequire } from 'node:module';
import { InvalidInputError } from '../../errors.ts';

export interface SdpLimits {
  /** Largest offer, in characters. Default 64 KiB. */
  maxChars?: number;
  /** Most lines. Default 1000. */
  maxLines?: number;
  /** Longest line, in characters. Default 2048. */
  maxLineChars?: number;
  /** Most `m=` sections. Default 8. */
  maxMedia?: number;
}

export const DEFAULT_SDP_LIMITS: Readonly<Required<SdpLimits>> = Object.freeze({
  maxChars: 64 * 1024,
  maxLines: 1000,
  maxLineChars: 2048,
  maxMedia: 8,
});

/** An offer or candidate refused before the native stack saw it; `code` is `sdp_refused`. */
export class SdpRefusedError extends InvalidInputError {
  constructor(reason: string) {
    super('sdp_refused', reason);
  }
}

interface ParsedMedia {
  type?: unknown;
  port?: unknown;
  protocol?: unknown;
  payloads?: unknown;
  iceUfrag?: unknown;
  icePwd?: unknown;
  fingerprint?: unknown;
}
interface ParsedSdp {
  version?: unknown;
  iceUfrag?: unknown;
  icePwd?: unknown;
  fingerprint?: unknown;
  media?: ParsedMedia[];
}

const sdpTransform = createRequire(import.meta.url)('sdp-transform') as { parse(sdp: string): ParsedSdp };

/** Line types RFC 8866 defines (`k=` is obsolete but harmless). */
const LINE = /^[vosiuepcbtrzkam]=[\x20-\x7e]*$/;
const RTP_PROTOS = new Set(['UDP/TLS/RTP/SAVPF', 'UDP/TLS/RTP/SAVP', 'RTP/SAVPF', 'RTP/SAVP']);
const SCTP_PROTOS = new Set(['UDP/DTLS/SCTP', 'TCP/DTLS/SCTP', 'DTLS/SCTP']);
/** `m=<media> <port>[/<count>] <proto> <fmt> ...` for the media the transport uses. */
const M_LINE = /^m=(audio|video|application) (\d{1,5})(?:\/\d{1,2})? ([A-Z/]{3,24})((?: [\w-]{1,32}){1,64})$/;

/** Refuses an offer the transport does not use; returns nothing when it may go to the stack. */
export function assertSafeOfferSdp(sdp: string, limits: SdpLimits = {}): void {
  const l = { ...DEFAULT_SDP_LIMITS, ...limits };
  if (sdp.length > l.maxChars) throw new SdpRefusedError(`offer is longer than ${l.maxChars} characters`);
  const lines = sdp.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > l.maxLines) throw new SdpRefusedError(`offer has more than ${l.maxLines} lines`);
  if (lines[0] !== 'v=0') throw new SdpRefusedError('offer must start with "v=0"');
  let media = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length > l.maxLineChars) {
      throw new SdpRefusedError(`line ${i + 1} is longer than ${l.maxLineChars} characters`);
    }
    if (!LINE.test(line)) throw new SdpRefusedError(`line ${i + 1} is not an SDP line`);
    if (line.charCodeAt(0) !== 0x6d /* m */) continue;
    if (++media > l.maxMedia) throw new SdpRefusedError(`offer has more than ${l.maxMedia} media sections`);
    checkMediaLine(line, i + 1);
  }
  if (media === 0) throw new SdpRefusedError('offer has no media section');

  let parsed: ParsedSdp;
  try {
    parsed = sdpTransform.parse(sdp);
  } catch {
    throw new SdpRefusedError('offer could not be parsed');
  }
  if (parsed.version !== 0) throw new SdpRefusedError('offer must be SDP version 0');
  const sections = parsed.media ?? [];
  if (sections.length !== media) throw new SdpRefusedError('offer media sections are malformed');
  for (const [index, m] of sections.entries()) {
    const where = `media section ${index + 1}`;
    if (
      !(
        typeof (m.iceUfrag ?? parsed.iceUfrag) === 'string' && typeof (m.icePwd ?? parsed.icePwd) === 'string'
      )
    ) {
      throw new SdpRefusedError(`${where} has no ICE credentials (a=ice-ufrag, a=ice-pwd)`);
    }
    const fingerprint = (m.fingerprint ?? parsed.fingerprint) as
      | { type?: unknown; hash?: unknown }
      | undefined;
    if (!fingerprint || typeof fingerprint.hash !== 'string' || typeof fingerprint.type !== 'string') {
      throw new SdpRefusedError(`${where} has no DTLS fingerprint (a=fingerprint)`);
    }
  }
}

function checkMediaLine(line: string, lineNo: number): void {
  const match = M_LINE.exec(line);
  if (!match) throw new SdpRefusedError(`line ${lineNo}: unsupported media line`);
  const [, kind, port, proto, fmts] = match;
  if (Number(port) > 65535) throw new SdpRefusedError(`line ${lineNo}: port out of range`);
  const formats = fmts.trim().split(' ');
  if (kind === 'application') {
    if (!SCTP_PROTOS.has(proto))
      throw new SdpRefusedError(`line ${lineNo}: unsupported data channel protocol`);
    const ok =
      proto === 'DTLS/SCTP'
        ? formats.every((f) => /^\d{1,5}$/.test(f))
        : formats.every((f) => f === 'webrtc-datachannel');
    if (!ok) throw new SdpRefusedError(`line ${lineNo}: unsupported data channel format`);
    return;
  }
  if (!RTP_PROTOS.has(proto)) throw new SdpRefusedError(`line ${lineNo}: unsupported ${kind} protocol`);
  if (!formats.every((f) => /^\d{1,3}$/.test(f) && Number(f) <= 127)) {
    throw new SdpRefusedError(`line ${lineNo}: ${kind} payload types must be 0-127`);
  }
}

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [...]` */
const CANDIDATE =
  /^(?:a=)?candidate:[A-Za-z0-9+/]{1,32} \d{1,3} (?:udp|tcp|UDP|TCP) \d{1,10} [A-Za-z0-9.:-]{1,253} \d{1,5} typ (?:host|srflx|prflx|relay)(?: [\x21-\x7e]{1,256}){0,32}$/;

/** Refuses a trickled ICE candidate line the stack should not see. Empty means end-of-candidates. */
export function assertSafeIceCandidate(candidate: string): void {
  if (candidate === '') return;
  if (candidate.length > 1024 || !CANDIDATE.test(candidate)) {
    throw new SdpRefusedError('not an ICE candidate line');
  }
}
