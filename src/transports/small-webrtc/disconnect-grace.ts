/**
 * When a WebRTC connection is over, from its `connectionState`: `failed` and `closed` end it at once;
 * `disconnected` (ICE lost the other side) ends it as `failed` only once it lasted `graceMs`, so a
 * network blip or the client's re-offer (`restart_pc`) can still save it. Any other state in
 * between cancels the wait.
 */
export class DisconnectGrace {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly onEnd: (reason: 'failed' | 'closed') => void,
  ) {}

  /** Feed every `connectionState` the peer connection reports. */
  update(state: RTCPeerConnectionState): void {
    if (state === 'failed' || state === 'closed') {
      this.cancel();
      this.onEnd(state);
    } else if (state === 'disconnected') {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.onEnd('failed');
      }, this.graceMs);
    } else this.cancel();
  }

  /** Stop waiting (the peer closed, or the connection recovered). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
