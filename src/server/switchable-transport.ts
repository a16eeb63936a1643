/**
 * An `RtviTransport` whose wire can be swapped: the RTVI session talks to this one object for its
 * whole life, and a reconnecting client's new transport is attached in place of the dropped one.
 * While no wire is attached, messages and audio to the client go nowhere. Only the attached wire's
 * events reach the session; a replaced wire's late events are ignored.
 */

import { SPECIFICATION_VERSIONS } from '../specification-version.ts';
import type { RtviTransport, RtviTransportCloseReason } from './rtvi-transport.ts';

type MessageHandler = (raw: unknown) => void;
type AudioHandler = (frame: Int16Array, sampleRate: number) => void;
type CloseHandler = (reason: RtviTransportCloseReason) => void;

export class SwitchableTransport implements RtviTransport {
  readonly specificationVersion = SPECIFICATION_VERSIONS.transport;
  private current: RtviTransport | undefined;
  private lastName: string;
  private onMessageHandler: MessageHandler = () => {};
  private onAudioHandler: AudioHandler = () => {};
  private onCloseHandler: CloseHandler = () => {};

  constructor(first: RtviTransport) {
    this.lastName = first.name;
    this.attach(first);
  }

  get name(): string {
    return this.current?.name ?? this.lastName;
  }

  get attached(): boolean {
    return this.current !== undefined;
  }

  /** Use `wire` from now on; a wire still attached is closed first (its close is not reported). */
  attach(wire: RtviTransport): void {
    const old = this.current;
    this.current = wire;
    this.lastName = wire.name;
    old?.close();
    wire.onMessage((raw) => {
      if (this.current === wire) this.onMessageHandler(raw);
    });
    wire.onAudio((frame, rate) => {
      if (this.current === wire) this.onAudioHandler(frame, rate);
    });
    wire.onClose((reason) => {
      if (this.current !== wire) return;
      this.current = undefined;
      this.onCloseHandler(reason);
    });
  }

  sendMessage(message: object): void {
    this.current?.sendMessage(message);
  }
  sendAudio(frame: Int16Array, sampleRate: number): void {
    this.current?.sendAudio(frame, sampleRate);
  }
  clearAudio(): void {
    this.current?.clearAudio();
  }
  onMessage(handler: MessageHandler): void {
    this.onMessageHandler = handler;
  }
  onAudio(handler: AudioHandler): void {
    this.onAudioHandler = handler;
  }
  onClose(handler: CloseHandler): void {
    this.onCloseHandler = handler;
  }
  close(): void {
    const wire = this.current;
    this.current = undefined;
    wire?.close();
  }
}
