/**
 * The `join_request` query parameter of `/rtc/v1`: base64url of a `WrappedJoinRequest`, whose
 * `joinRequest` bytes are a `JoinRequest`, gzipped or not. Every step is bounded: the parameter's
 * length, the inflated size, the protobuf decode.
 */
import { gunzipSync } from 'node:zlib';
import type { JoinRequest } from '@livekit/protocol';
import { TransportError } from '../../errors.ts';
import { loadLiveKitProtocol } from './protocol.ts';

/** Longest `join_request` accepted (an offer with six sections is ~8 KiB before compression). */
export const MAX_JOIN_REQUEST_CHARS = 64 * 1024;
/** Largest inflated `JoinRequest`. */
export const MAX_JOIN_REQUEST_BYTES = 256 * 1024;

export function decodeJoinRequest(param: string): JoinRequest {
  const proto = loadLiveKitProtocol();
  if (param.length > MAX_JOIN_REQUEST_CHARS) {
    throw new TransportError('livekit_bad_join_request', 'join_request is too long');
  }
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(param)) {
    throw new TransportError('livekit_bad_join_request', 'join_request is not base64url');
  }
  const bytes = Buffer.from(param.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  let wrapped: InstanceType<typeof proto.WrappedJoinRequest>;
  try {
    wrapped = proto.WrappedJoinRequest.fromBinary(bytes);
  } catch (cause) {
    throw new TransportError('livekit_bad_join_request', 'join_request is not a WrappedJoinRequest', {
      cause,
    });
  }
  let inner: Uint8Array = wrapped.joinRequest;
  if (wrapped.compression === proto.WrappedJoinRequest_Compression.GZIP) {
    try {
      inner = gunzipSync(inner, { maxOutputLength: MAX_JOIN_REQUEST_BYTES });
    } catch (cause) {
      throw new TransportError('livekit_bad_join_request', 'join_request is not valid gzip', { cause });
    }
  } else if (wrapped.compression !== proto.WrappedJoinRequest_Compression.NONE) {
    throw new TransportError('livekit_bad_join_request', 'join_request uses an unknown compression');
  }
  try {
    return proto.JoinRequest.fromBinary(inner);
  } catch (cause) {
    throw new TransportError('livekit_bad_join_request', 'join_request does not hold a JoinRequest', {
      cause,
    });
  }
}
