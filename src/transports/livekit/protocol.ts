/**
 * LiveKit's protobuf messages (`@livekit/protocol`, the version `livekit-client` pins), loaded only
 * when a LiveKit connection is served: the package is an optional dependency of Colloquy.
 */
import type * as Protocol from '@livekit/protocol';
import { requireOptional } from '../../optional-dependency.ts';

export type LiveKitProtocol = typeof Protocol;

let loaded: LiveKitProtocol | undefined;

/** The protocol module; throws `MissingDependencyError` naming `npm install @livekit/protocol`. */
export function loadLiveKitProtocol(): LiveKitProtocol {
  loaded ??= requireOptional<LiveKitProtocol>('@livekit/protocol', 'The LiveKit transport');
  return loaded;
}

/** The LiveKit server version Colloquy announces (what the supported clients expect to see). */
export const ANNOUNCED_SERVER_VERSION = '1.9.0';
/** The signalling protocol version announced in `serverInfo.protocol`. */
export const ANNOUNCED_PROTOCOL = 16;
