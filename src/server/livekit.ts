/**
 * `colloquy/livekit`: LiveKit rooms on a Colloquy server, for the unmodified `livekit-client` SDK
 * and front-ends built on it (docs/livekit.md). Register the routes on a server of your own with
 * `startServer({ registerRoutes: (app, context) => registerLiveKitRoutes(app, context) })`.
 *
 * Serving rooms needs the optional packages `@livekit/protocol` and `@roamhq/wrtc`
 * (`registerLiveKitRoutes` throws `MissingDependencyError` naming the install command without
 * them); importing this module and its types does not.
 */

export type { LiveKitProjection } from '../surfaces/livekit/livekit-projection.ts';
export type { LiveKitKeys, LiveKitVideoGrant, MintTokenOptions } from '../transports/livekit/access-token.ts';
export { mintLiveKitToken } from '../transports/livekit/access-token.ts';
export type {
  IncomingDataLimits,
  LiveKitRoomLink,
  LiveKitRoomOptions,
  RoomCloseReason,
  RoomState,
} from '../transports/livekit/room-options.ts';
export type { LiveKitRoutes, LiveKitRoutesOptions } from './livekit-routes.ts';
export { liveKitAvailable, registerLiveKitRoutes } from './livekit-routes.ts';
export type { LiveKitSession } from './livekit-session.ts';
