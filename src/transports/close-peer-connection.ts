/**
 * Closing a `@roamhq/wrtc` peer connection without crashing the process.
 *
 * wrtc frees a data channel's native half on a WebRTC thread when the channel reaches `closed`, and
 * again on the JavaScript thread when its peer connection is closed (`RTCPeerConnection.close()`
 * walks its channels). A channel still open or closing when the connection closes can be freed by
 * both threads at once, and the process dies with a segfault (node-webrtc#576; seen here as a test
 * worker that "exited unexpectedly" while its SmallWebRTC tests closed their peers, under load).
 *
 * So the channels close first, and the connection only once each has fired `close` (wrtc fires it
 * after its thread has freed the channel, so the connection's walk then finds nothing to free), or
 * after `timeoutMs` for a remote that never answers the channel's close.
 */

/** The parts of a data channel this needs (wrtc's and the DOM's both have them). */
export interface ClosableChannel {
  readonly readyState: string;
  close(): void;
  addEventListener(type: 'close', listener: () => void): void;
}

/** Long enough for a peer on loopback or a LAN to answer a channel's close. */
export const CHANNEL_CLOSE_WAIT_MS = 1000;

/**
 * Closes `channels`, then `pc` once they are closed (or after `timeoutMs`). Resolves when `pc` is
 * closed. Safe to call on a connection whose channels are already closed (it closes at once).
 */
export function closePeerConnection(
  pc: { close(): void },
  channels: Iterable<ClosableChannel>,
  timeoutMs = CHANNEL_CLOSE_WAIT_MS,
): Promise<void> {
  const closing: Array<Promise<void>> = [];
  for (const channel of channels) {
    const state = channel.readyState;
    if (state === 'closed') continue;
    closing.push(new Promise<void>((resolve) => channel.addEventListener('close', () => resolve())));
    if (state !== 'closing') quietly(() => channel.close());
  }
  if (closing.length === 0) {
    quietly(() => pc.close());
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      quietly(() => pc.close());
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    void Promise.all(closing).then(finish);
  });
}

/** A close that throws (a native object already gone) must not stop the rest, nor escape a timer. */
function quietly(close: () => void): void {
  try {
    close();
  } catch {
    // closed already: nothing left to close
  }
}
